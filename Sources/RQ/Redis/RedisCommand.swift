/// A value that can be sent as one argument of a Redis command: `String`, `Substring`, `Int`, `Double` (`+inf` and
/// `-inf` as Redis spells them) and `[UInt8]`.
///
/// Arguments are sent as RESP bulk strings, so any bytes are allowed. How an argument is encoded is not public API
/// (the requirements are SPI); another type that conforms is sent as its string description.
public protocol RedisArgument: Sendable {
    /// Appends the argument's bytes to `buffer`.
    @_spi(RESP) func appendRedisBytes(to buffer: inout [UInt8])
    /// Appends the argument as a RESP bulk string (`$len\r\n…\r\n`); types that know their length cheaply
    /// override this to skip an intermediate copy.
    @_spi(RESP) func appendRESPBulk(to buffer: inout [UInt8])
}

extension RedisArgument {
    @_spi(RESP) public func appendRedisBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: "\(self)".utf8) }

    @_spi(RESP) public func appendRESPBulk(to buffer: inout [UInt8]) {
        var bytes: [UInt8] = []
        appendRedisBytes(to: &bytes)
        RESP.appendBulk(bytes, to: &buffer)
    }
}

/// RESP framing helpers.
enum RESP {
    static func appendLength(_ prefix: UInt8, _ length: Int, to buffer: inout [UInt8]) {
        buffer.append(prefix)
        switch length {
        case 0..<10:
            buffer.append(UInt8(48 + length))
        case 10..<100:
            buffer.append(UInt8(48 + length / 10))
            buffer.append(UInt8(48 + length % 10))
        case 100..<1000:
            buffer.append(UInt8(48 + length / 100))
            buffer.append(UInt8(48 + length / 10 % 10))
            buffer.append(UInt8(48 + length % 10))
        default:
            buffer.append(contentsOf: String(length).utf8)
        }
        buffer.append(13)
        buffer.append(10)
    }

    /// A string as a bulk string, copied from its contiguous UTF-8 storage in one go.
    static func appendBulk(_ string: String, to buffer: inout [UInt8]) {
        var string = string
        string.withUTF8 { appendBulk($0, to: &buffer) }
    }

    static func appendBulk(_ bytes: some Collection<UInt8>, to buffer: inout [UInt8]) {
        appendLength(UInt8(ascii: "$"), bytes.count, to: &buffer)
        buffer.append(contentsOf: bytes)
        buffer.append(13)
        buffer.append(10)
    }
}

extension String: RedisArgument {
    @_spi(RESP) public func appendRedisBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
    @_spi(RESP) public func appendRESPBulk(to buffer: inout [UInt8]) { RESP.appendBulk(self, to: &buffer) }
}

extension Substring: RedisArgument {
    @_spi(RESP) public func appendRedisBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
}

extension Int: RedisArgument {
    @_spi(RESP) public func appendRedisBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: String(self).utf8) }
    @_spi(RESP) public func appendRESPBulk(to buffer: inout [UInt8]) {
        // Digits straight into the buffer: no intermediate String or array per integer argument.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { scratch in
            var value = self.magnitude
            var index = scratch.count
            repeat {
                index -= 1
                scratch[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            } while value > 0
            if self < 0 {
                index -= 1
                scratch[index] = UInt8(ascii: "-")
            }
            RESP.appendLength(UInt8(ascii: "$"), scratch.count - index, to: &buffer)
            buffer.append(contentsOf: scratch[index...])
        }
        buffer.append(13)
        buffer.append(10)
    }
}

extension Double: RedisArgument {
    @_spi(RESP) public func appendRedisBytes(to buffer: inout [UInt8]) {
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
    @_spi(RESP) public func appendRedisBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: self) }
    @_spi(RESP) public func appendRESPBulk(to buffer: inout [UInt8]) { RESP.appendBulk(self, to: &buffer) }
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
    ///
    /// - Parameters:
    ///   - name: the command name, e.g. `"HSET"`.
    ///   - arguments: the arguments, each encoded as a bulk string.
    public init(_ name: String, _ arguments: any RedisArgument...) {
        self.init(name, arguments: arguments)
    }

    /// Creates a command from its name and an argument list.
    ///
    /// - Parameters:
    ///   - name: the command name, e.g. `"HSET"`.
    ///   - arguments: the arguments, each encoded as a bulk string.
    public init(_ name: String, arguments: [any RedisArgument]) {
        self.name = name
        var buffer: [UInt8] = []
        buffer.reserveCapacity(32 + arguments.count * 24)
        RESP.appendLength(UInt8(ascii: "*"), arguments.count + 1, to: &buffer)
        RESP.appendBulk(name, to: &buffer)
        for argument in arguments { argument.appendRESPBulk(to: &buffer) }
        self.encoded = buffer
    }
}

/// Receives a job hash's fields one by one (see `Job.fieldMapping`).
protocol JobFieldSink {
    mutating func add(_ name: String, _ value: String)
    mutating func add(_ name: String, _ value: [UInt8])
    mutating func add(_ name: String, _ value: Int)
}

/// Fields as a list of arguments, to splice into a command or a script call.
struct ArgumentList: JobFieldSink {
    var arguments: [any RedisArgument] = []
    mutating func add(_ name: String, _ value: String) { arguments += [name, value] }
    mutating func add(_ name: String, _ value: [UInt8]) { arguments += [name, value] }
    mutating func add(_ name: String, _ value: Int) { arguments += [name, value] }
}

/// Arguments already encoded as RESP bulk strings, appended to a command by ``RedisCommand/init(_:_:encoded:)``.
struct EncodedArguments: JobFieldSink {
    var bytes: [UInt8] = []
    var count = 0

    mutating func add(_ name: String, _ value: String) {
        RESP.appendBulk(name, to: &bytes)
        RESP.appendBulk(value, to: &bytes)
        count += 2
    }
    mutating func add(_ name: String, _ value: [UInt8]) {
        RESP.appendBulk(name, to: &bytes)
        RESP.appendBulk(value, to: &bytes)
        count += 2
    }
    mutating func add(_ name: String, _ value: Int) {
        RESP.appendBulk(name, to: &bytes)
        value.appendRESPBulk(to: &bytes)
        count += 2
    }
}

extension RedisCommand {
    /// A command whose leading arguments are followed by pre-encoded ones.
    init(_ name: String, _ leading: any RedisArgument..., encoded: EncodedArguments) {
        self.name = name
        var buffer: [UInt8] = []
        buffer.reserveCapacity(32 + leading.count * 24 + encoded.bytes.count)
        RESP.appendLength(UInt8(ascii: "*"), 1 + leading.count + encoded.count, to: &buffer)
        RESP.appendBulk(name, to: &buffer)
        for argument in leading { argument.appendRESPBulk(to: &buffer) }
        buffer.append(contentsOf: encoded.bytes)
        self.encoded = buffer
    }
}
