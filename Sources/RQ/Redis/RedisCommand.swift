/// A value that can be sent as one argument of a Redis command.
///
/// Arguments are sent as RESP bulk strings, so any bytes are allowed.
public protocol RedisArgument: Sendable {
    /// Appends the argument's bytes to `buffer`.
    func appendRedisBytes(to buffer: inout [UInt8])
}

extension String: RedisArgument {
    public func appendRedisBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
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
        buffer.append(UInt8(ascii: "*"))
        buffer.append(contentsOf: String(arguments.count + 1).utf8)
        buffer.append(contentsOf: [13, 10])
        Self.appendBulk(Array(name.utf8), to: &buffer)
        var scratch: [UInt8] = []
        for argument in arguments {
            scratch.removeAll(keepingCapacity: true)
            argument.appendRedisBytes(to: &scratch)
            Self.appendBulk(scratch, to: &buffer)
        }
        self.encoded = buffer
    }

    private static func appendBulk(_ bytes: [UInt8], to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "$"))
        buffer.append(contentsOf: String(bytes.count).utf8)
        buffer.append(contentsOf: [13, 10])
        buffer.append(contentsOf: bytes)
        buffer.append(contentsOf: [13, 10])
    }
}
