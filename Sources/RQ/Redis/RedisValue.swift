/// One reply from Redis (RESP2), binary safe.
public enum RedisValue: Sendable, Hashable {
    /// A nil bulk string or nil array (`GET` of a missing key, a timed-out `BLPOP`).
    case null
    /// A simple string such as `OK` or `QUEUED`.
    case status(String)
    /// An error reply; ``Redis/send(_:)`` throws these, pipelines return them in place.
    case error(String)
    /// An integer reply.
    case integer(Int)
    /// A bulk string: raw bytes, not necessarily UTF-8.
    case bulk([UInt8])
    /// An array reply.
    case array([RedisValue])

    /// The value as text: bulk strings decoded as UTF-8, status replies and integers as written; otherwise nil.
    public var string: String? {
        switch self {
        case .bulk(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let text): return text
        case .integer(let value): return String(value)
        default: return nil
        }
    }

    /// The raw bytes of a bulk string or status reply.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): return bytes
        case .status(let text): return Array(text.utf8)
        default: return nil
        }
    }

    /// The value as an integer: integer replies, and bulk strings holding a decimal integer.
    public var int: Int? {
        switch self {
        case .integer(let value): return value
        case .bulk, .status: return string.flatMap { Int($0) }
        default: return nil
        }
    }

    /// The elements of an array reply; nil for anything else.
    public var array: [RedisValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    /// Whether this is a nil reply.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// An array of bulk strings read as text (`SMEMBERS`, `LRANGE`, `ZRANGE`); nil elements are skipped.
    public var strings: [String] {
        array?.compactMap(\.string) ?? []
    }

    /// An `HGETALL`-style flat array of field/value pairs as a dictionary of raw values.
    public var fieldPairs: [String: [UInt8]] {
        guard let values = array else { return [:] }
        var result: [String: [UInt8]] = [:]
        result.reserveCapacity(values.count / 2)
        var index = 0
        while index + 1 < values.count {
            if let field = values[index].string, let value = values[index + 1].bytes {
                result[field] = value
            }
            index += 2
        }
        return result
    }
}
