import CRQShims
import Glibc
import Synchronization

/// Random ids in the shapes RQ uses, from the system generator (`getrandom`, no file descriptor per call).
enum RandomID {
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// A UUID4 in canonical lower-case dashed form, like Python's `str(uuid4())`: RQ's default job id.
    static func uuid4() -> String {
        var bytes = randomBytes()
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            for (position, byte) in bytes.enumerated() {
                if position == 4 || position == 6 || position == 8 || position == 10 {
                    buffer[index] = UInt8(ascii: "-")
                    index += 1
                }
                buffer[index] = hex[Int(byte >> 4)]
                buffer[index + 1] = hex[Int(byte & 0x0F)]
                index += 2
            }
            return index
        }
    }

    /// 32 lower-case hex characters, like Python's `uuid4().hex`: worker names and execution ids.
    static func hex32() -> String {
        let bytes = randomBytes()
        return String(unsafeUninitializedCapacity: 32) { buffer in
            for (position, byte) in bytes.enumerated() {
                buffer[position * 2] = hex[Int(byte >> 4)]
                buffer[position * 2 + 1] = hex[Int(byte & 0x0F)]
            }
            return 32
        }
    }

    private static func randomBytes() -> [UInt8] {
        pool.withLock { pool in
            if pool.offset + 16 > pool.bytes.count {
                pool.bytes.withUnsafeMutableBytes { buffer in
                    var filled = 0
                    while filled < buffer.count {
                        let count = getrandom(buffer.baseAddress! + filled, buffer.count - filled, 0)
                        if count > 0 { filled += count } else if errno != EINTR { fatalError("getrandom failed") }
                    }
                }
                pool.offset = 0
            }
            defer { pool.offset += 16 }
            return Array(pool.bytes[pool.offset..<pool.offset + 16])
        }
    }

    /// Random bytes fetched from the kernel 4 KiB at a time: one `getrandom` call per 256 ids instead of two per id.
    private static let pool = Mutex((bytes: [UInt8](repeating: 0, count: 4096), offset: 4096))
}
