/// A value that can be sent as one argument of a Redis command.
///
/// Arguments are sent as RESP bulk strings, so any bytes are allowed.
public protocol RedisArgument: Sendable {
    /// Appends the argument's bytes to `buffer`.
    func appendRedisBytes(to buffer: inout [UInt8])
    /// Appends the argument as a RESP bulk string (`$len\r\n…\r\n`); types that know their length cheaply
    /// override this to skip an intermediate copy.
    func appendRESPBulk(to buffer: inout [UInt8])
}

extension RedisArgument {
    public func appendRESPBulk(to buffer: inout [UInt8]) {
        var bytes: [UInt8] = []
        appendRedisBytes(to: &bytes)
        RESP.appendBulk(bytes, to: &buffer)
    }
}

/// RESP framing helpers.
enum RESP {
    static func appendLength(_ prefix: UInt8, _ length: Int, to buffer: inout [UInt8]) {
        buffer.append(prefix)
        if length < 10 {
            buffer.append(UInt8(48 + length))
        } else {
            buffer.append(contentsOf: String(length).utf8)
        }
        buffer.append(13)
        buffer.append(10)
    }

    static func appendBulk(_ bytes: some Collection<UInt8>, to buffer: inout [UInt8]) {
        appendLength(UInt8(ascii: "$"), bytes.count, to: &buffer)
        buffer.append(contentsOf: bytes)
        buffer.append(13)
        buffer.append(10)
    }
}

extension String: RedisArgument {
    public func appendRedisBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
    public func appendRESPBulk(to buffer: inout [UInt8]) { RESP.appendBulk(utf8, to: &buffer) }
}

extension Substring: RedisArgument {
    public func appendRedisBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
}

extension Int: RedisArgument {
    public func appendRedisBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: String(self).utf8) }
}

extension Double: RedisArgument {
    public func appendRedisBytes(to buffer: inout [UInt8]) {
        if self == .infinity {
            buffer.append(contentsOf: "+inf".utf8)
        } else if self == -.infinity {
            buffer.append(contentsOf: "-inf".utf8)
        } else {
            buffer.append(contentsOf: String(self).utf8)
        }
    }
}

extension Array: RedisArgument where Element == UInt8 {
    public func appendRedisBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: self) }
    public func appendRESPBulk(to buffer: inout [UInt8]) { RESP.appendBulk(self, to: &buffer) }
}

/// One Redis command: a name and its arguments, encoded once into RESP.
///
/// The argv is encoded here, in Swift, as a RESP array of bulk strings (binary safe, like hiredis'
/// `redisCommandArgv`), so that a whole pipeline can be handed to hiredis as one buffer and sent in one write.
public struct RedisCommand: Sendable {
    /// The command encoded as a RESP array of bulk strings.
    let encoded: [UInt8]
    /// The command name, for error messages.
    public let name: String

    /// Creates a command from its name and arguments, e.g. `RedisCommand("HSET", key, "status", "queued")`.
    public init(_ name: String, _ arguments: any RedisArgument...) {
        self.init(name, arguments: arguments)
    }

    /// Creates a command from its name and an argument list.
    public init(_ name: String, arguments: [any RedisArgument]) {
        self.name = name
        var buffer: [UInt8] = []
        buffer.reserveCapacity(32 + arguments.count * 24)
        RESP.appendLength(UInt8(ascii: "*"), arguments.count + 1, to: &buffer)
        RESP.appendBulk(name.utf8, to: &buffer)
        for argument in arguments { argument.appendRESPBulk(to: &buffer) }
        self.encoded = buffer
    }
}
