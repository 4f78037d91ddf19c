/// Deflate for short inputs (job payloads are mostly 30–120 bytes), where zlib's fixed cost per call — resetting a
/// stream, then building three Huffman trees to price a dynamic block against the fixed one — is most of the work:
/// 3.4 µs for a 31-byte payload, a fifth of the client's CPU per enqueue. This takes 0.9 µs for it (1.6 µs for 82
/// bytes).
///
/// It parses exactly as zlib's default level does (what Python's `zlib.compress` runs): the same hash chains
/// (zlib's 15-bit hash, position 0 never a candidate) and the same lazy matching (good 8, lazy 16, nice 128, chain
/// 128), then writes a fixed-Huffman block, or a stored block when that is no longer, as zlib chooses between
/// those two. So the stream is byte for byte Python's except where zlib would price a dynamic-Huffman block a few
/// bits cheaper (for payloads near 100 bytes, roughly; inputs of very few distinct bytes save more): the stream is
/// then a little longer, and Python, zlib and every inflater read it the same. RQ's wire format asks for a zlib
/// stream, not for particular bytes.
enum SmallDeflate {
    /// Inputs must be shorter than this, which keeps to cases this parse reproduces exactly: one block, and zlib's
    /// `nice_length` (128) never reached before the end of the input.
    static let inputLimit = 128

    /// A zlib stream of `input`, which must be shorter than ``inputLimit``.
    static func compress(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        precondition(input.count < inputLimit)
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: Scratch.size) { memory in
            let symbols = parse(input, Scratch(memory))
            return write(input, symbols: symbols, block: chooseBlock(input.count, symbols: symbols))
        }
    }

    // MARK: Matching

    /// A literal (`length` 0, `value` the byte) or a match (`length` 3…, `value` the distance).
    struct Symbol {
        var length: UInt8
        var value: UInt8
    }

    /// zlib's hash of the three bytes at `position` (`hash_bits` 15, `hash_shift` 5: the rolling `ins_h`).
    @inline(__always)
    static func hash(_ input: UnsafeBufferPointer<UInt8>, _ position: Int) -> Int {
        (Int(input[position]) << 10 ^ Int(input[position + 1]) << 5 ^ Int(input[position + 2])) & 0x7FFF
    }

    /// deflate_slow's parse of the whole input with `Z_FINISH`.
    static func parse(_ input: UnsafeBufferPointer<UInt8>, _ scratch: Scratch) -> [Symbol] {
        let count = input.count
        var symbols: [Symbol] = []
        symbols.reserveCapacity(count)
        // Hash chains: `head` is a small open-addressed table from hash to the latest position (0 = none, as in
        // zlib, so position 0 is never a candidate); `previous[p]` the position before p with the same hash.
        let keys = scratch.hashKeys
        let heads = scratch.hashHeads
        let previous = scratch.previous
        for slot in 0..<Scratch.hashSlots { keys[slot] = -1 }
        func insert(_ position: Int) -> Int {
            let key = Int32(hash(input, position))
            var slot = Int(key) & (Scratch.hashSlots - 1)
            while keys[slot] != -1 && keys[slot] != key { slot = (slot + 1) & (Scratch.hashSlots - 1) }
            let head = keys[slot] == key ? Int(heads[slot]) : 0
            keys[slot] = key
            heads[slot] = Int32(position)
            previous[position] = Int32(head)
            return head
        }

        var start = 0
        var lookahead = count
        var matchLength = 2
        var matchStart = 0
        var matchAvailable = false
        while lookahead > 0 {
            let head = lookahead >= 3 ? insert(start) : 0
            let previousLength = matchLength
            let previousMatch = matchStart
            matchLength = 2
            if head != 0 && previousLength < 16 {
                // longest_match: newest candidate first, only a longer match replaces the best, stop at the end of
                // the input (nice_match is capped by the lookahead) or after the chain limit.
                var chain = previousLength >= 8 ? 32 : 128
                var best = previousLength
                var candidate = head
                repeat {
                    var length = 0
                    while length < lookahead && input[candidate + length] == input[start + length] { length += 1 }
                    if length > best {
                        matchStart = candidate
                        best = length
                        if length >= lookahead { break }
                    }
                    candidate = Int(previous[candidate])
                    chain -= 1
                } while candidate > 0 && chain != 0
                matchLength = min(best, lookahead)
            }
            if previousLength >= 3 && matchLength <= previousLength {
                let lastInsert = start + lookahead - 3
                symbols.append(Symbol(length: UInt8(previousLength), value: UInt8(start - 1 - previousMatch)))
                lookahead -= previousLength - 1
                for _ in 0..<(previousLength - 2) {
                    start += 1
                    if start <= lastInsert { _ = insert(start) }
                }
                matchAvailable = false
                matchLength = 2
                start += 1
            } else if matchAvailable {
                symbols.append(Symbol(length: 0, value: input[start - 1]))
                start += 1
                lookahead -= 1
            } else {
                matchAvailable = true
                start += 1
                lookahead -= 1
            }
        }
        if matchAvailable { symbols.append(Symbol(length: 0, value: input[start - 1])) }
        return symbols
    }

    // MARK: Choosing the block type

    enum Block { case stored, fixed }

    /// Stored when it is no longer than the fixed-Huffman block, as zlib decides between the two.
    static func chooseBlock(_ storedLength: Int, symbols: [Symbol]) -> Block {
        var fixedBits = 7  // the end-of-block code
        for symbol in symbols {
            if symbol.length == 0 {
                fixedBits += symbol.value < 144 ? 8 : 9
            } else {
                let lengthCode = Self.lengthCode(Int(symbol.length))
                fixedBits +=
                    (lengthCode < 23 ? 7 : 8) + Int(lengthExtraBits[lengthCode]) + 5
                    + Int(distanceExtraBits[Self.distanceCode(Int(symbol.value))])
            }
        }
        return storedLength + 4 <= (fixedBits + 3 + 7) >> 3 ? .stored : .fixed
    }

    // MARK: Writing

    static func write(_ input: UnsafeBufferPointer<UInt8>, symbols: [Symbol], block: Block) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: input.count + 16) { output, written in
            output[0] = 0x78  // deflate, 32 KiB window
            output[1] = 0x9C  // default level; check bits
            var writer = BitWriter(output, at: 2)
            if block == .stored {
                writer.put(1, bits: 3)  // stored, last block
                writer.alignToByte()
                writer.putByte(UInt8(input.count))
                writer.putByte(0)
                writer.putByte(~UInt8(input.count))
                writer.putByte(0xFF)
                for byte in input { writer.putByte(byte) }
            } else {
                writer.put(3, bits: 3)  // fixed Huffman codes, last block
                for symbol in symbols {
                    if symbol.length == 0 {
                        writer.putFixedLiteral(Int(symbol.value))
                    } else {
                        let length = Int(symbol.length)
                        let lengthCode = Self.lengthCode(length)
                        writer.putFixedLiteral(257 + lengthCode)
                        writer.put(UInt64(length - Int(lengthBase[lengthCode])), bits: Int(lengthExtraBits[lengthCode]))
                        let distance = Int(symbol.value)
                        let distanceCode = Self.distanceCode(distance)
                        writer.put(UInt64(fixedDistanceCodes[distanceCode]), bits: 5)
                        writer.put(
                            UInt64(distance - Int(distanceBase[distanceCode])),
                            bits: Int(distanceExtraBits[distanceCode]))
                    }
                }
                writer.putFixedLiteral(256)
                writer.alignToByte()
            }
            var checksum = adler32(input)
            for _ in 0..<4 {
                writer.putByte(UInt8(checksum >> 24))
                checksum <<= 8
            }
            written = writer.position
        }
    }

    /// Bits least significant first, as deflate packs them.
    struct BitWriter {
        let output: UnsafeMutableBufferPointer<UInt8>
        /// ``fixedLiteralCodes``, read once rather than through its lazy initializer for every symbol.
        let literalCodes = fixedLiteralCodes
        var position: Int
        var buffer: UInt64 = 0
        var count = 0

        init(_ output: UnsafeMutableBufferPointer<UInt8>, at position: Int) {
            self.output = output
            self.position = position
        }

        @inline(__always)
        mutating func put(_ value: UInt64, bits: Int) {
            buffer |= value << UInt64(count)
            count += bits
            while count >= 8 {
                output[position] = UInt8(truncatingIfNeeded: buffer)
                position += 1
                buffer >>= 8
                count -= 8
            }
        }

        @inline(__always)
        mutating func putFixedLiteral(_ symbol: Int) {
            let code = literalCodes[symbol]
            put(UInt64(code >> 4), bits: Int(code & 0xF))
        }

        mutating func alignToByte() {
            if count > 0 { put(0, bits: 8 - count) }
        }

        mutating func putByte(_ byte: UInt8) {
            output[position] = byte
            position += 1
        }
    }

    static func adler32(_ input: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in input {  // Fewer than 128 bytes: no reduction needed before the end.
            a += UInt32(byte)
            b += a
        }
        return (b % 65521) << 16 | (a % 65521)
    }

    // MARK: Tables (RFC 1951 §3.2.5, §3.2.6)

    static let lengthBase: [UInt16] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227,
        258,
    ]
    static let lengthExtraBits: [UInt8] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ]
    static let distanceBase: [UInt16] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
        6145, 8193, 12289, 16385, 24577,
    ]
    static let distanceExtraBits: [UInt8] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
    ]

    static func lengthCode(_ length: Int) -> Int {
        if length == 258 { return 28 }
        var code = 27
        while Int(lengthBase[code]) > length { code -= 1 }
        return code
    }

    static func distanceCode(_ distance: Int) -> Int {
        var code = 29
        while Int(distanceBase[code]) > distance { code -= 1 }
        return code
    }

    /// Fixed literal/length codes, bit-reversed for least-significant-first packing, `code << 4 | bit count`.
    static let fixedLiteralCodes: [UInt32] = (0..<288).map { symbol in
        let (code, bits): (Int, Int) =
            switch symbol {
            case 0..<144: (0x30 + symbol, 8)
            case 144..<256: (0x190 + symbol - 144, 9)
            case 256..<280: (symbol - 256, 7)
            default: (0xC0 + symbol - 280, 8)
            }
        return UInt32(reversed(code, bits: bits)) << 4 | UInt32(bits)
    }
    /// Fixed distance codes (five bits each), bit-reversed.
    static let fixedDistanceCodes: [UInt8] = (0..<30).map { UInt8(reversed($0, bits: 5)) }

    static func reversed(_ code: Int, bits: Int) -> Int {
        var result = 0
        for bit in 0..<bits where code & (1 << bit) != 0 { result |= 1 << (bits - 1 - bit) }
        return result
    }

    // MARK: Scratch memory

    /// The hash table and chains, carved out of one stack allocation.
    struct Scratch {
        static let hashSlots = 256
        static let size = 2 * hashSlots + inputLimit

        let memory: UnsafeMutableBufferPointer<Int32>

        init(_ memory: UnsafeMutableBufferPointer<Int32>) { self.memory = memory }

        private func part(_ start: Int, _ count: Int) -> UnsafeMutableBufferPointer<Int32> {
            UnsafeMutableBufferPointer(rebasing: memory[start..<(start + count)])
        }

        var hashKeys: UnsafeMutableBufferPointer<Int32> { part(0, Self.hashSlots) }
        var hashHeads: UnsafeMutableBufferPointer<Int32> { part(Self.hashSlots, Self.hashSlots) }
        var previous: UnsafeMutableBufferPointer<Int32> { part(2 * Self.hashSlots, inputLimit) }
    }
}
