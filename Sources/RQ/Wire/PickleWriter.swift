/// Writes JSON values as protocol-5 pickle, with the opcodes Python's C pickler chooses for the same values (so the
/// bytes match Python's `pickle.dumps(value, protocol=5)` when no object appears twice). See ``Pickle``.
struct PickleWriter {
    private typealias Op = Pickle.Opcode
    /// Python writes items in batches of this many (`APPENDS`, `SETITEMS`).
    private static let batchSize = 1000

    /// The frame's content: everything after `PROTO` and the frame header.
    private var body: [UInt8] = []

    init() {
        body.reserveCapacity(64)
    }

    /// The pickle: `PROTO 5`, one `FRAME` (Python writes none for content under 4 bytes), the body and `STOP`.
    mutating func finished() -> [UInt8] {
        body.append(Op.stop)
        var out: [UInt8] = [Op.proto, Pickle.writtenProtocol]
        if body.count >= 4 {
            out.reserveCapacity(body.count + 11)
            out.append(Op.frame)
            append(UInt64(body.count), bytes: 8, to: &out)
        }
        out += body
        return out
    }

    mutating func write(_ value: JSONValue) {
        switch value {
        case .null: body.append(Op.none)
        case .bool(let flag): body.append(flag ? Op.newTrue : Op.newFalse)
        case .int(let number): writeInt(number)
        case .bigInt(let digits): writeLong(Pickle.twosComplement(decimal: digits))
        case .double(let number):
            body.append(Op.binFloat)
            let pattern = number.bitPattern
            for shift in stride(from: 56, through: 0, by: -8) {
                body.append(UInt8(truncatingIfNeeded: pattern >> shift))
            }
        case .string(let text): writeString(text)
        case .array(let values):
            body += [Op.emptyList, Op.memoize]
            writeBatches(values.count, single: Op.append, batch: Op.appends) { writer, index in
                writer.write(values[index])
            }
        case .object(let object):
            body += [Op.emptyDict, Op.memoize]
            let pairs = Array(object)
            writeBatches(pairs.count, single: Op.setItem, batch: Op.setItems) { writer, index in
                writer.writeString(pairs[index].key)
                writer.write(pairs[index].value)
            }
        }
    }

    /// Writes a tuple, as Python does: `EMPTY_TUPLE`, or the items and `TUPLE1`…`TUPLE3`, or `MARK`, the items and
    /// `TUPLE`; then `MEMOIZE`. The elements at `tupleAt` are written as tuples too (RQ's `args`).
    mutating func writeTuple(_ items: [JSONValue], tupleAt: Set<Int> = []) {
        guard !items.isEmpty else {
            body.append(Op.emptyTuple)
            return
        }
        if items.count > 3 { body.append(Op.mark) }
        for (index, item) in items.enumerated() {
            if tupleAt.contains(index), case .array(let elements) = item {
                writeTuple(elements)
            } else {
                write(item)
            }
        }
        body.append(items.count > 3 ? Op.tuple : Op.tuple1 + UInt8(items.count - 1))
        body.append(Op.memoize)
    }

    /// `BININT1`, `BININT2` or `BININT` where the value fits, else `LONG1`, as Python chooses.
    private mutating func writeInt(_ number: Int) {
        if number >= 0 && number <= 0xFF {
            body += [Op.binInt1, UInt8(number)]
        } else if number >= 0 && number <= 0xFFFF {
            body.append(Op.binInt2)
            append(UInt64(number), bytes: 2, to: &body)
        } else if number >= Int(Int32.min) && number <= Int(Int32.max) {
            body.append(Op.binInt)
            append(UInt64(UInt32(truncatingIfNeeded: number)), bytes: 4, to: &body)
        } else {
            writeLong(Pickle.twosComplement(number))
        }
    }

    private mutating func writeLong(_ bytes: [UInt8]) {
        if bytes.count < 256 {
            body += [Op.long1, UInt8(bytes.count)]
        } else {
            body.append(Op.long4)
            append(UInt64(bytes.count), bytes: 4, to: &body)
        }
        body += bytes
    }

    private mutating func writeString(_ text: String) {
        let utf8 = text.utf8
        if utf8.count < 256 {
            body += [Op.shortBinUnicode, UInt8(utf8.count)]
        } else if utf8.count <= 0xFFFF_FFFF {
            body.append(Op.binUnicode)
            append(UInt64(utf8.count), bytes: 4, to: &body)
        } else {
            body.append(Op.binUnicode8)
            append(UInt64(utf8.count), bytes: 8, to: &body)
        }
        body += utf8
        body.append(Op.memoize)
    }

    /// A container's items as Python batches them: one item and the single-item opcode, or batches of up to 1000
    /// between `MARK` and the batch opcode.
    private mutating func writeBatches(
        _ count: Int, single: UInt8, batch: UInt8, _ writeItem: (inout PickleWriter, Int) -> Void
    ) {
        if count == 1 {
            writeItem(&self, 0)
            body.append(single)
            return
        }
        var start = 0
        while start < count {
            body.append(Op.mark)
            for index in start..<min(start + Self.batchSize, count) { writeItem(&self, index) }
            body.append(batch)
            start += Self.batchSize
        }
    }

    private func append(_ value: UInt64, bytes count: Int, to out: inout [UInt8]) {
        for shift in 0..<count { out.append(UInt8(truncatingIfNeeded: value >> (shift * 8))) }
    }
}
