internal import CZlib
import FoundationEssentials
import Glibc

/// RFC 1950 zlib streams, as Python's `zlib.compress` writes them (the `data` field and `exc_string`).
enum Zlib {
    /// Compresses at zlib's default level, which is what Python's `zlib.compress` uses: the same bytes.
    ///
    /// Deflate state is about 270 KB, and allocating it per call (as `compress2` does) costs an mmap, page faults
    /// and a munmap each time, so streams are kept in a small pool and reset, which yields the same bytes.
    static func compress(_ input: [UInt8]) -> [UInt8] {
        let stream = DeflateStreams.shared.take()
        defer { DeflateStreams.shared.put(stream) }
        let capacity = Int(deflateBound(stream, uLong(input.count))) + 16
        return input.withUnsafeBufferPointer { source in
            [UInt8](unsafeUninitializedCapacity: capacity) { destination, written in
                // deflate reads `next_in` only; the pointer is mutable in zlib's C signature.
                stream.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.pointee.avail_in = uInt(source.count)
                stream.pointee.next_out = destination.baseAddress
                stream.pointee.avail_out = uInt(destination.count)
                let status = deflate(stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "zlib deflate failed with \(status)")
                written = Int(stream.pointee.total_out)
            }
        }
    }

    /// Why a zlib stream could not be inflated.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Inflates a zlib stream; fails on anything that is not a complete, valid stream or that would inflate past
    /// `limit` bytes.
    static func decompress(_ input: [UInt8], limit: Int = 512 << 20) throws(Failure) -> [UInt8] {
        guard input.count >= 6, input[0] & 0x0F == 8, (UInt16(input[0]) << 8 | UInt16(input[1])) % 31 == 0 else {
            throw Failure(description: "not a zlib stream")
        }
        var stream = z_stream()
        guard rq_inflate_init(&stream) == Z_OK else { throw Failure(description: "inflateInit failed") }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: max(256, input.count * 4))
        let status = input.withUnsafeBufferPointer { source -> Int32 in
            // inflate reads `next_in` only; the pointer is mutable in zlib's C signature.
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = uInt(source.count)
            var result: Int32 = Z_OK
            repeat {
                result = chunk.withUnsafeMutableBufferPointer { destination -> Int32 in
                    stream.next_out = destination.baseAddress
                    stream.avail_out = uInt(destination.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                output.append(contentsOf: chunk[0..<produced])
                if output.count > limit { return Z_MEM_ERROR }
                if result == Z_BUF_ERROR && stream.avail_in == 0 { break }
            } while result == Z_OK
            return result
        }
        switch status {
        case Z_STREAM_END: return output
        case Z_MEM_ERROR: throw Failure(description: "inflates to more than \(limit) bytes")
        case Z_BUF_ERROR, Z_OK: throw Failure(description: "truncated zlib stream")
        default: throw Failure(description: "corrupt zlib stream (error \(status))")
        }
    }
}

/// Reusable deflate streams.
final class DeflateStreams: @unchecked Sendable {
    /// The process's pool.
    static let shared = DeflateStreams()

    private let lock = ThreadCondition()
    private var idle: [UnsafeMutablePointer<z_stream>] = []

    private init() {}

    func take() -> UnsafeMutablePointer<z_stream> {
        lock.lock()
        let reused = idle.popLast()
        lock.unlock()
        if let reused { return reused }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        precondition(rq_deflate_init(stream) == Z_OK, "zlib deflateInit failed")
        return stream
    }

    func put(_ stream: UnsafeMutablePointer<z_stream>) {
        deflateReset(stream)
        lock.lock()
        if idle.count < 16 {
            idle.append(stream)
            lock.unlock()
        } else {
            lock.unlock()
            deflateEnd(stream)
            stream.deallocate()
        }
    }
}
