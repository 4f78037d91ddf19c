internal import CHiredis
import Glibc

/// The one place that calls hiredis. A `HiredisContext` is owned by exactly one connection thread and never
/// escapes it; every hiredis call it makes blocks that thread, never a thread of the Swift cooperative pool.
final class HiredisContext {
    private let context: UnsafeMutablePointer<redisContext>
    let endpoint: RedisConfiguration.Endpoint

    private init(context: UnsafeMutablePointer<redisContext>, endpoint: RedisConfiguration.Endpoint) {
        self.context = context
        self.endpoint = endpoint
    }

    deinit { redisFree(context) }

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

    /// The socket, so another thread can `shutdown(2)` it to interrupt a blocking read.
    var fileDescriptor: Int32 { rq_context_fd(context) }

    /// Sets the socket's send and receive timeout.
    func setTimeout(_ timeout: Duration) {
        _ = redisSetTimeout(context, rq_timeval(Int64(max(timeout.microseconds, 1000))))
    }

    /// Appends already RESP-encoded commands to the output buffer; nothing is written until a reply is read.
    func append(_ encoded: [UInt8]) throws(RedisError) {
        let status = encoded.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                redisAppendFormattedCommand(context, chars.baseAddress, chars.count)
            }
        }
        if status != rq_ok() { throw contextError() }
    }

    /// Writes whatever is buffered, then reads one reply (blocking this thread).
    func readReply() throws(RedisError) -> RedisValue {
        var raw: UnsafeMutableRawPointer?
        if redisGetReply(context, &raw) != rq_ok() || raw == nil {
            throw contextError()
        }
        let reply = raw!.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return Self.convert(reply)
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
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return Self.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    private func readerError() -> RedisError {
        let reason = withUnsafeBytes(of: context.pointee.reader.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return RedisError(.protocolError, "Redis at \(endpoint) sent a malformed reply: \(reason)")
    }

    private func contextError() -> RedisError {
        let err = rq_context_err(context)
        let reason = String(cString: rq_context_errstr(context))
        if err == rq_err_io() && (errno == EAGAIN || errno == EWOULDBLOCK || reason.contains("temporarily unavailable"))
        {
            return RedisError(.timeout, "Redis at \(endpoint) did not reply in time")
        }
        if err == rq_err_eof() {
            return RedisError(.connectionLost, "Redis at \(endpoint) closed the connection")
        }
        return RedisError(.connectionLost, "connection to Redis at \(endpoint) lost: \(reason)")
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let type = reply.pointee.type
        switch type {
        case rq_reply_string():
            return .bulk(bytes(reply.pointee.str, reply.pointee.len))
        case rq_reply_status():
            return .status(text(reply.pointee.str, reply.pointee.len))
        case rq_reply_error():
            return .error(text(reply.pointee.str, reply.pointee.len))
        case rq_reply_integer():
            return .integer(Int(reply.pointee.integer))
        case rq_reply_array():
            let count = Int(reply.pointee.elements)
            var values: [RedisValue] = []
            values.reserveCapacity(count)
            for index in 0..<count {
                if let element = reply.pointee.element[index] {
                    values.append(convert(element))
                } else {
                    values.append(.null)
                }
            }
            return .array(values)
        default:
            return .null
        }
    }

    /// A status or error reply's text, decoded in place (`QUEUED`, `OK`: no array in between).
    private static func text(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> String {
        guard let pointer, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: pointer, count: length))
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
