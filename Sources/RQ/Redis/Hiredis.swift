internal import CHiredis
import Glibc

/// The one place that calls hiredis. A `HiredisContext` is owned by exactly one connection thread and never
/// escapes it; every hiredis call it makes blocks that thread, never a thread of the Swift cooperative pool.
final class HiredisContext {
    private let context: UnsafeMutablePointer<redisContext>
    let endpoint: RedisConfiguration.Endpoint
    /// Where the reader builds each reply (see `rq_use_reply_buffer`), one allocation for all its elements.
    private let replyBuffer: UnsafeMutablePointer<rq_reply_buffer>

    private init(context: UnsafeMutablePointer<redisContext>, endpoint: RedisConfiguration.Endpoint) {
        self.context = context
        self.endpoint = endpoint
        replyBuffer = .allocate(capacity: 1)
        replyBuffer.initialize(to: rq_reply_buffer())
        rq_use_reply_buffer(context, replyBuffer)
    }

    deinit {
        redisFree(context)
        free(replyBuffer.pointee.bytes)
        replyBuffer.deallocate()
    }

    /// Opens a connection; the timeout bounds the TCP (or Unix socket) connect.
    static func connect(to endpoint: RedisConfiguration.Endpoint, timeout: Duration) throws(RedisError)
        -> HiredisContext
    {
        let tv = rq_timeval(Int64(max(timeout.microseconds, 1000)))
        let raw: UnsafeMutablePointer<redisContext>?
        switch endpoint {
        case .tcp(let host, let port): raw = redisConnectWithTimeout(host, Int32(port), tv)
        case .unix(let path): raw = redisConnectUnixWithTimeout(path, tv)
        }
        guard let raw else {
            throw RedisError(.connectionFailed, "could not connect to Redis at \(endpoint): out of memory")
        }
        if rq_context_err(raw) != 0 {
            let reason = String(cString: rq_context_errstr(raw))
            redisFree(raw)
            throw RedisError(.connectionFailed, "could not connect to Redis at \(endpoint): \(reason)")
        }
        return HiredisContext(context: raw, endpoint: endpoint)
    }

    /// A context that only parses: its reply parser, fed by hand, over a descriptor of `/dev/null` (for tests).
    static func parserOnly() -> HiredisContext? {
        let descriptor = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard descriptor >= 0, let raw = redisConnectFd(descriptor) else { return nil }
        return HiredisContext(context: raw, endpoint: .unix(path: "/dev/null"))
    }

    /// The socket, so another thread can `shutdown(2)` it to interrupt a blocking read.
    var fileDescriptor: Int32 { rq_context_fd(context) }

    /// Sets the socket's send and receive timeout.
    func setTimeout(_ timeout: Duration) {
        _ = redisSetTimeout(context, rq_timeval(Int64(max(timeout.microseconds, 1000))))
    }

    /// Hands the first `count` bytes of `buffer`, read from the socket, to hiredis' reply parser.
    func feed(_ buffer: [UInt8], count: Int) throws(RedisError) {
        let status = buffer.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                redisReaderFeed(context.pointee.reader, chars.baseAddress, min(count, chars.count))
            }
        }
        if status != rq_ok() { throw readerError() }
    }

    /// The next complete reply among the bytes fed so far, or nil if none is complete yet.
    func nextReply() throws(RedisError) -> RedisValue? {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(context.pointee.reader, &raw) == rq_ok() else { throw readerError() }
        guard raw != nil else { return nil }
        return takeReply()
    }

    /// Decodes the reply the reader has just completed in the reply buffer, then empties the buffer.
    private func takeReply() -> RedisValue {
        let buffer = replyBuffer.pointee
        var offset = 0
        let value = Self.decode(UnsafeRawPointer(buffer.bytes!), &offset)
        replyBuffer.pointee.length = 0
        if buffer.capacity > 1 << 20 {  // After an unusually large reply, give the memory back.
            free(buffer.bytes)
            replyBuffer.pointee.bytes = nil
            replyBuffer.pointee.capacity = 0
        }
        return value
    }

    private func readerError() -> RedisError {
        let reason = withUnsafeBytes(of: context.pointee.reader.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return RedisError(.protocolError, "Redis at \(endpoint) sent a malformed reply: \(reason)")
    }

    /// One element of the reply buffer: a tag byte, an 8-byte number (a string's length, an integer, an array's
    /// count), then a string's bytes; an array's elements follow it.
    private static func decode(_ base: UnsafeRawPointer, _ offset: inout Int) -> RedisValue {
        let tag = base.load(fromByteOffset: offset, as: UInt8.self)
        let number = Int(base.loadUnaligned(fromByteOffset: offset + 1, as: Int64.self))
        offset += 9
        switch tag {
        case UInt8(ascii: "i"):
            return .integer(number)
        case UInt8(ascii: "a"):
            var values: [RedisValue] = []
            values.reserveCapacity(number)
            for _ in 0..<number { values.append(decode(base, &offset)) }
            return .array(values)
        case UInt8(ascii: "b"), UInt8(ascii: "s"), UInt8(ascii: "e"):
            let bytes = UnsafeRawBufferPointer(start: base + offset, count: number)
            offset += number
            switch tag {
            case UInt8(ascii: "s"): return .status(String(decoding: bytes, as: UTF8.self))
            case UInt8(ascii: "e"): return .error(String(decoding: bytes, as: UTF8.self))
            default: return .bulk([UInt8](bytes))
            }
        default:
            return .null
        }
    }
}

extension Duration {
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    /// The duration in seconds as a floating-point number.
    var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
