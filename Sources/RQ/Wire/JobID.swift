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
        var generator = SystemRandomNumberGenerator()
        let high = generator.next()
        let low = generator.next()
        return (0..<8).map { UInt8(truncatingIfNeeded: high >> ($0 * 8)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> ($0 * 8)) }
    }
}
