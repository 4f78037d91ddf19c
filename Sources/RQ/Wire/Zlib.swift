internal import CZlib

/// RFC 1950 zlib streams, as Python's `zlib.compress` writes them (the `data` field and `exc_string`).
enum Zlib {
    /// Compresses at zlib's default level, which is what Python's `zlib.compress` uses: the output is byte-identical.
    static func compress(_ input: [UInt8]) -> [UInt8] {
        var destinationLength = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(destinationLength))
        let status = output.withUnsafeMutableBufferPointer { destination in
            input.withUnsafeBufferPointer { source in
                compress2(
                    destination.baseAddress, &destinationLength, source.baseAddress, uLong(input.count),
                    Z_DEFAULT_COMPRESSION)
            }
        }
        precondition(status == Z_OK, "zlib compress2 failed with \(status)")
        output.removeSubrange(Int(destinationLength)...)
        return output
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
        var status: Int32 = Z_OK
        var copy = input
        status = copy.withUnsafeMutableBufferPointer { source -> Int32 in
            stream.next_in = source.baseAddress
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
