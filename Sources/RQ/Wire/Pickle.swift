/// Python's pickle format, for plain values only: what RQ's default serializer (`DefaultSerializer`, i.e.
/// `pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)`) writes for jobs whose arguments, results and `meta` are
/// plain data.
///
/// The reader (``decode(_:)``) understands the opcodes protocols 2 to 5 use for `None`, `bool`, `int` (any size),
/// `float`, `str`, `bytes`, `list`, `tuple`, `dict`, `set` and `frozenset`, including the memo. It imports and runs
/// nothing: a pickle that names a Python type or callable (a `datetime`, a class instance, anything built by
/// `GLOBAL`/`STACK_GLOBAL`, `REDUCE`, `BUILD`, `NEWOBJ`…) is refused with an error that names the type. Values map to
/// ``JSONValue``: tuples, sets and frozensets become arrays (a tuple comes back to Python as a list), integers beyond
/// `Int` become ``JSONValue/bigInt(_:)``; `bytes` and `bytearray` are refused (JSON values have no bytes), and so are
/// dicts with keys that are not strings.
///
/// The writer (``encode(_:)``) writes protocol 5 as Python's C pickler does for the same values — byte for byte for
/// values under 64 KiB, where Python writes one frame; larger ones are written as one frame too, which Python reads.
enum Pickle {
    /// The protocol the writer uses: `pickle.HIGHEST_PROTOCOL` since Python 3.8, which RQ's `DefaultSerializer` uses.
    static let writtenProtocol: UInt8 = 5
    /// The highest protocol the reader accepts.
    static let highestProtocol: UInt8 = 5
    /// The longest integer (in bytes) the reader accepts: about 4300 decimal digits, the limit Python itself puts on
    /// converting integers to and from text (`sys.int_info.default_max_str_digits`).
    static let maximumIntegerBytes = 1786
    /// Values nested deeper than this are refused, as ``JSONValue`` parsing refuses them.
    static let maximumDepth = 512

    /// Reads a pickle of plain values.
    ///
    /// Memo references may share a value many times; the result is refused when it would grow past
    /// 16 × the input plus 16 MiB (counting one per value plus the bytes of each string), so a few kilobytes of
    /// hostile input cannot expand into gigabytes.
    static func decode(_ bytes: [UInt8]) throws(PickleError) -> JSONValue {
        var reader = PickleReader(bytes: bytes)
        return try reader.read()
    }

    /// Writes `value` as protocol-5 pickle.
    static func encode(_ value: JSONValue) -> [UInt8] {
        var writer = PickleWriter()
        writer.write(value)
        return writer.finished()
    }

    /// Writes RQ's job tuple `(func_name, None, args, kwargs)`, with `args` a tuple as Python writes it.
    static func encodeJob(functionName: String, args: [JSONValue], kwargs: JSONObject) -> [UInt8] {
        var writer = PickleWriter()
        writer.writeTuple([.string(functionName), .null, .array(args), .object(kwargs)], tupleAt: [2])
        return writer.finished()
    }

    // MARK: Opcodes

    enum Opcode {
        static let mark: UInt8 = 0x28  // (
        static let stop: UInt8 = 0x2E  // .
        static let pop: UInt8 = 0x30  // 0
        static let popMark: UInt8 = 0x31  // 1
        static let dup: UInt8 = 0x32  // 2
        static let binBytes: UInt8 = 0x42  // B
        static let shortBinBytes: UInt8 = 0x43  // C
        static let binFloat: UInt8 = 0x47  // G
        static let binInt: UInt8 = 0x4A  // J
        static let binInt1: UInt8 = 0x4B  // K
        static let binInt2: UInt8 = 0x4D  // M
        static let none: UInt8 = 0x4E  // N
        static let binUnicode: UInt8 = 0x58  // X
        static let emptyList: UInt8 = 0x5D  // ]
        static let append: UInt8 = 0x61  // a
        static let global: UInt8 = 0x63  // c
        static let dict: UInt8 = 0x64  // d
        static let appends: UInt8 = 0x65  // e
        static let binGet: UInt8 = 0x68  // h
        static let longBinGet: UInt8 = 0x6A  // j
        static let list: UInt8 = 0x6C  // l
        static let binPut: UInt8 = 0x71  // q
        static let longBinPut: UInt8 = 0x72  // r
        static let setItem: UInt8 = 0x73  // s
        static let tuple: UInt8 = 0x74  // t
        static let setItems: UInt8 = 0x75  // u
        static let emptyDict: UInt8 = 0x7D  // }
        static let emptyTuple: UInt8 = 0x29  // )
        static let proto: UInt8 = 0x80
        static let tuple1: UInt8 = 0x85
        static let tuple2: UInt8 = 0x86
        static let tuple3: UInt8 = 0x87
        static let newTrue: UInt8 = 0x88
        static let newFalse: UInt8 = 0x89
        static let long1: UInt8 = 0x8A
        static let long4: UInt8 = 0x8B
        static let shortBinUnicode: UInt8 = 0x8C
        static let binUnicode8: UInt8 = 0x8D
        static let binBytes8: UInt8 = 0x8E
        static let emptySet: UInt8 = 0x8F
        static let addItems: UInt8 = 0x90
        static let frozenSet: UInt8 = 0x91
        static let stackGlobal: UInt8 = 0x93
        static let memoize: UInt8 = 0x94
        static let frame: UInt8 = 0x95
        static let byteArray8: UInt8 = 0x96
    }

    /// Names of the opcodes the reader refuses, for its error messages.
    static let refusedOpcodes: [UInt8: String] = [
        0x52: "REDUCE (calls a Python callable)", 0x62: "BUILD (sets an object's state)",
        0x81: "NEWOBJ (creates a class instance)", 0x92: "NEWOBJ_EX (creates a class instance)",
        0x69: "INST (creates a class instance)", 0x6F: "OBJ (creates a class instance)",
        0x50: "PERSID (a persistent id)", 0x51: "BINPERSID (a persistent id)",
        0x82: "EXT1 (a copyreg extension type)", 0x83: "EXT2 (a copyreg extension type)",
        0x84: "EXT4 (a copyreg extension type)", 0x97: "NEXT_BUFFER (an out-of-band buffer)",
        0x98: "READONLY_BUFFER (an out-of-band buffer)", 0x49: "INT (protocol 0)", 0x4C: "LONG (protocol 0)",
        0x46: "FLOAT (protocol 0)", 0x53: "STRING (protocol 0)", 0x54: "BINSTRING (a Python 2 str)",
        0x55: "SHORT_BINSTRING (a Python 2 str)", 0x56: "UNICODE (protocol 0)", 0x67: "GET (protocol 0)",
        0x70: "PUT (protocol 0)",
    ]

    /// The plain values the reader supports, for error messages.
    static let supportedTypes = "None, bool, int, float, str, list, tuple, dict, set, frozenset"

    // MARK: Integers beyond 64 bits

    /// Negates a little-endian two's-complement integer in place (`~x + 1`).
    private static func negate(_ bytes: inout [UInt8]) {
        var carry: UInt16 = 1
        for index in bytes.indices {
            let sum = UInt16(~bytes[index]) + carry
            bytes[index] = UInt8(truncatingIfNeeded: sum)
            carry = sum >> 8
        }
    }

    /// The decimal digits of a little-endian two's-complement integer (pickle's `LONG1`/`LONG4` payload).
    static func decimal(twosComplement bytes: ArraySlice<UInt8>) -> String {
        guard let last = bytes.last else { return "0" }
        let negative = last & 0x80 != 0
        var magnitude = Array(bytes)
        if negative { negate(&magnitude) }  // |x| = ~x + 1
        var limbs = limbs(littleEndian: magnitude)
        var chunks: [UInt32] = []
        while !limbs.isEmpty {
            var remainder: UInt64 = 0
            for index in limbs.indices.reversed() {
                let current = remainder << 32 | UInt64(limbs[index])
                limbs[index] = UInt32(current / 1_000_000_000)
                remainder = current % 1_000_000_000
            }
            chunks.append(UInt32(remainder))
            while limbs.last == 0 { limbs.removeLast() }
        }
        guard let top = chunks.popLast() else { return "0" }
        var text = negative ? "-" : ""
        text += String(top)
        for chunk in chunks.reversed() {
            let digits = String(chunk)
            text += String(repeating: "0", count: 9 - digits.count) + digits
        }
        return text
    }

    /// The shortest little-endian two's-complement bytes of a decimal integer, as Python's `encode_long` writes them
    /// (empty for zero).
    static func twosComplement(decimal text: String) -> [UInt8] {
        let utf8 = Array(text.utf8)
        let negative = utf8.first == UInt8(ascii: "-")
        let digits = utf8.dropFirst(negative ? 1 : 0)
        // Magnitude in base 2^32 limbs, built nine digits at a time.
        var limbs: [UInt32] = []
        var position = digits.startIndex
        var chunkLength = digits.count % 9 == 0 ? 9 : digits.count % 9
        while position < digits.endIndex {
            let chunkEnd = position + chunkLength
            chunkLength = 9
            var chunk: UInt64 = 0
            var scale: UInt64 = 1
            for digit in digits[position..<chunkEnd] {
                chunk = chunk * 10 + UInt64(digit - UInt8(ascii: "0"))
                scale *= 10
            }
            var carry = chunk
            for index in limbs.indices {
                let product = UInt64(limbs[index]) * scale + carry
                limbs[index] = UInt32(truncatingIfNeeded: product)
                carry = product >> 32
            }
            if carry > 0 { limbs.append(UInt32(carry)) }
            position = chunkEnd
        }
        var bytes: [UInt8] = []
        for limb in limbs {
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: limb >> shift)) }
        }
        while bytes.last == 0 { bytes.removeLast() }
        if bytes.isEmpty { return [] }
        // One more byte so the sign bit is free, then negate in place for negative values.
        bytes.append(0)
        if negative { negate(&bytes) }
        return minimal(bytes)
    }

    /// The shortest little-endian two's-complement bytes of an `Int`.
    static func twosComplement(_ value: Int) -> [UInt8] {
        if value == 0 { return [] }
        return minimal((0..<8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) })
    }

    /// Drops sign-extension bytes that the byte below already implies.
    private static func minimal(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        while bytes.count > 1 {
            let last = bytes[bytes.count - 1]
            let below = bytes[bytes.count - 2]
            guard (last == 0 && below & 0x80 == 0) || (last == 0xFF && below & 0x80 != 0) else { break }
            bytes.removeLast()
        }
        return bytes
    }

    private static func limbs(littleEndian bytes: [UInt8]) -> [UInt32] {
        var limbs: [UInt32] = []
        limbs.reserveCapacity(bytes.count / 4 + 1)
        var index = 0
        while index < bytes.count {
            var limb: UInt32 = 0
            for offset in 0..<4 where index + offset < bytes.count {
                limb |= UInt32(bytes[index + offset]) << (offset * 8)
            }
            limbs.append(limb)
            index += 4
        }
        while limbs.last == 0 { limbs.removeLast() }
        return limbs
    }
}

/// Why a pickle could not be read: malformed or truncated data, or a value outside the plain-value subset.
struct PickleError: Error, Sendable, CustomStringConvertible {
    /// The byte offset where reading stopped.
    let offset: Int
    /// What was wrong there.
    let reason: String
    var description: String { "pickle at byte \(offset): \(reason)" }
}
