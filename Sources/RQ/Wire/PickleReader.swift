/// The pickle virtual machine, cut down to plain values: a stack, marks and a memo, and no opcode that names or calls
/// Python code. See ``Pickle``.
struct PickleReader {
    /// A value on the stack or in the memo. Containers are objects because pickle mutates them after they are
    /// memoized (`EMPTY_LIST`, `MEMOIZE`, …, `APPENDS`): every reference must see the appended items.
    enum Node {
        case none
        case bool(Bool)
        case int(Int)
        /// An integer longer than 8 bytes, in little-endian two's complement.
        case long(ArraySlice<UInt8>)
        case float(Double)
        case string(String)
        /// `bytes` or `bytearray`: only their size is kept, for the error that refuses them.
        case bytes(typeName: String, count: Int)
        case container(Container)

        var typeName: String {
            switch self {
            case .none: return "None"
            case .bool: return "bool"
            case .int, .long: return "int"
            case .float: return "float"
            case .string: return "str"
            case .bytes(let name, _): return name
            case .container(let container): return container.kind.rawValue
            }
        }
    }

    final class Container {
        enum Kind: String { case list, tuple, dict, set, frozenset }
        let kind: Kind
        /// The elements; for a dict, keys and values alternate.
        var items: [Node]
        init(_ kind: Kind, _ items: [Node] = []) {
            self.kind = kind
            self.items = items
        }
    }

    let bytes: [UInt8]
    private var index = 0
    private var stack: [Node] = []
    private var marks: [Int] = []
    private var memo: [Int: Node] = [:]
    /// Values taken off the stack and dropped (`POP`, `POP_MARK`), kept until ``tearDown()``.
    private var discarded: [Node] = []
    /// What the result may still grow by (values plus string bytes) before it is refused.
    private var budget: Int

    init(bytes: [UInt8]) {
        self.bytes = bytes
        self.budget = bytes.count.multipliedReportingOverflow(by: 16).partialValue + 16 << 20
    }

    private func fail(_ reason: String, at offset: Int? = nil) -> PickleError {
        PickleError(offset: offset ?? index, reason: reason)
    }

    /// Runs the opcodes up to `STOP` and converts the value it leaves to JSON.
    mutating func read() throws(PickleError) -> JSONValue {
        defer { tearDown() }
        let node = try run()
        var path = Set<ObjectIdentifier>()
        return try freeze(node, depth: 0, path: &path)
    }

    // MARK: Reading bytes

    private mutating func take(_ count: Int, for what: String) throws(PickleError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - index else {
            throw fail("truncated: \(what) needs \(count) bytes, \(bytes.count - index) left")
        }
        defer { index += count }
        return bytes[index..<index + count]
    }

    private mutating func unsigned(_ count: Int, for what: String) throws(PickleError) -> UInt64 {
        var value: UInt64 = 0
        for (shift, byte) in try take(count, for: what).enumerated() { value |= UInt64(byte) << (shift * 8) }
        return value
    }

    /// A length field, checked against what is left so a hostile length allocates nothing.
    private mutating func length(_ count: Int, for what: String) throws(PickleError) -> Int {
        let start = index
        let value = try unsigned(count, for: what)
        guard value <= UInt64(bytes.count - index) else {
            throw fail("truncated: \(what) of \(value) bytes but \(bytes.count - index) left", at: start)
        }
        return Int(value)
    }

    private mutating func text(_ count: Int, for what: String) throws(PickleError) -> String {
        let start = index
        let utf8 = try take(count, for: what)
        guard let text = String(validating: utf8, as: UTF8.self) else {
            throw fail("\(what) is not valid UTF-8 (a str with a lone surrogate?)", at: start)
        }
        return text
    }

    // MARK: The stack

    private mutating func pop(for opcode: String) throws(PickleError) -> Node {
        guard stack.count > (marks.last ?? 0) else { throw fail("\(opcode) on an empty stack") }
        return stack.removeLast()
    }

    private mutating func popToMark(for opcode: String) throws(PickleError) -> [Node] {
        guard let mark = marks.popLast() else { throw fail("\(opcode) without a MARK") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private func top(for opcode: String) throws(PickleError) -> Node {
        guard let node = stack.last, stack.count > (marks.last ?? 0) else {
            throw fail("\(opcode) on an empty stack")
        }
        return node
    }

    private func container(_ kinds: Set<Container.Kind>, for opcode: String) throws(PickleError)
        -> Container
    {
        guard let mark = marks.last, mark > 0 else { throw fail("\(opcode) without a MARK") }
        guard case .container(let target) = stack[mark - 1], kinds.contains(target.kind) else {
            throw fail("\(opcode) on a \(stack[mark - 1].typeName)")
        }
        return target
    }

    /// The container `depth` values below the top of the stack, above the last mark: the target of `APPEND` and
    /// `SETITEM`, checked before anything is taken off the stack.
    private func below(_ depth: Int, _ kinds: Set<Container.Kind>, for opcode: String) throws(PickleError)
        -> Container
    {
        guard stack.count - (marks.last ?? 0) > depth else { throw fail("\(opcode) on too few values") }
        guard case .container(let target) = stack[stack.count - 1 - depth], kinds.contains(target.kind) else {
            throw fail("\(opcode) on a \(stack[stack.count - 1 - depth].typeName)")
        }
        return target
    }

    private mutating func memoGet(_ key: Int) throws(PickleError) -> Node {
        guard let node = memo[key] else { throw fail("memo has no entry \(key)") }
        return node
    }

    private func refused(_ typeName: String) -> PickleError {
        fail(
            "holds a \(typeName); swift-rq reads only plain values from pickle (\(Pickle.supportedTypes)) and never "
                + "imports or runs Python code")
    }

    // MARK: Running

    private mutating func run() throws(PickleError) -> Node {
        while index < bytes.count {
            let start = index
            let opcode = bytes[index]
            index += 1
            typealias Op = Pickle.Opcode
            switch opcode {
            case Op.proto:
                let version = try take(1, for: "PROTO")[start + 1]
                guard version <= Pickle.highestProtocol else { throw fail("unsupported protocol \(version)") }
            case Op.frame:
                _ = try length(8, for: "FRAME")
            case Op.stop:
                guard marks.isEmpty, stack.count == 1, let value = stack.first else {
                    throw fail("STOP with \(stack.count) values on the stack and \(marks.count) marks", at: start)
                }
                guard index == bytes.count else { throw fail("\(bytes.count - index) bytes after STOP") }
                return value
            case Op.mark: marks.append(stack.count)
            case Op.pop: discarded.append(try pop(for: "POP"))
            case Op.popMark: discarded += try popToMark(for: "POP_MARK")
            case Op.dup: stack.append(try top(for: "DUP"))
            case Op.memoize: memo[memo.count] = try top(for: "MEMOIZE")
            case Op.binPut: memo[Int(try unsigned(1, for: "BINPUT"))] = try top(for: "BINPUT")
            case Op.longBinPut: memo[Int(try unsigned(4, for: "LONG_BINPUT"))] = try top(for: "LONG_BINPUT")
            case Op.binGet: stack.append(try memoGet(Int(try unsigned(1, for: "BINGET"))))
            case Op.longBinGet: stack.append(try memoGet(Int(try unsigned(4, for: "LONG_BINGET"))))
            case Op.none: stack.append(.none)
            case Op.newTrue: stack.append(.bool(true))
            case Op.newFalse: stack.append(.bool(false))
            case Op.binInt1: stack.append(.int(Int(try unsigned(1, for: "BININT1"))))
            case Op.binInt2: stack.append(.int(Int(try unsigned(2, for: "BININT2"))))
            case Op.binInt: stack.append(.int(Int(Int32(truncatingIfNeeded: try unsigned(4, for: "BININT")))))
            case Op.long1: stack.append(try long(count: Int(try unsigned(1, for: "LONG1"))))
            case Op.long4:
                let count = Int(Int32(truncatingIfNeeded: try unsigned(4, for: "LONG4")))
                guard count >= 0 else { throw fail("LONG4 with a negative length") }
                stack.append(try long(count: count))
            case Op.binFloat:
                let pattern = try take(8, for: "BINFLOAT").reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                stack.append(.float(Double(bitPattern: pattern)))
            case Op.shortBinUnicode:
                stack.append(.string(try text(try length(1, for: "SHORT_BINUNICODE"), for: "SHORT_BINUNICODE")))
            case Op.binUnicode: stack.append(.string(try text(try length(4, for: "BINUNICODE"), for: "BINUNICODE")))
            case Op.binUnicode8:
                stack.append(.string(try text(try length(8, for: "BINUNICODE8"), for: "BINUNICODE8")))
            case Op.shortBinBytes:
                let count = try length(1, for: "SHORT_BINBYTES")
                index += count
                stack.append(.bytes(typeName: "bytes", count: count))
            case Op.binBytes, Op.binBytes8, Op.byteArray8:
                let count = try length(opcode == Op.binBytes ? 4 : 8, for: "BINBYTES")
                index += count
                stack.append(.bytes(typeName: opcode == Op.byteArray8 ? "bytearray" : "bytes", count: count))
            case Op.emptyList: stack.append(.container(Container(.list)))
            case Op.emptyDict: stack.append(.container(Container(.dict)))
            case Op.emptySet: stack.append(.container(Container(.set)))
            case Op.emptyTuple: stack.append(.container(Container(.tuple)))
            case Op.list: stack.append(.container(Container(.list, try popToMark(for: "LIST"))))
            case Op.tuple: stack.append(.container(Container(.tuple, try popToMark(for: "TUPLE"))))
            case Op.frozenSet: stack.append(.container(Container(.frozenset, try popToMark(for: "FROZENSET"))))
            case Op.dict:
                guard (stack.count - (marks.last ?? 0)) % 2 == 0 else { throw fail("DICT with a key but no value") }
                stack.append(.container(Container(.dict, try popToMark(for: "DICT"))))
            case Op.tuple1, Op.tuple2, Op.tuple3:
                let count = Int(opcode - Op.tuple1) + 1
                guard stack.count - (marks.last ?? 0) >= count else { throw fail("TUPLE\(count) on too few values") }
                let items = Array(stack.suffix(count))
                stack.removeLast(count)
                stack.append(.container(Container(.tuple, items)))
            case Op.append:
                let list = try below(1, [.list], for: "APPEND")
                list.items.append(stack.removeLast())
            case Op.appends:
                let list = try container([.list], for: "APPENDS")
                list.items += try popToMark(for: "APPENDS")
            case Op.addItems:
                let set = try container([.set], for: "ADDITEMS")
                set.items += try popToMark(for: "ADDITEMS")
            case Op.setItem:
                let dict = try below(2, [.dict], for: "SETITEM")
                dict.items += stack.suffix(2)
                stack.removeLast(2)
            case Op.setItems:
                let dict = try container([.dict], for: "SETITEMS")
                guard (stack.count - (marks.last ?? 0)) % 2 == 0 else { throw fail("SETITEMS with a key but no value") }
                dict.items += try popToMark(for: "SETITEMS")
            case Op.global:
                // `module\nname\n`: read only to name the type in the error.
                let rest = bytes[index...]
                let lines = rest.split(separator: 0x0A, maxSplits: 2, omittingEmptySubsequences: false)
                guard lines.count >= 3 else { throw fail("truncated GLOBAL") }
                throw refused(
                    String(decoding: lines[0], as: UTF8.self) + "." + String(decoding: lines[1], as: UTF8.self))
            case Op.stackGlobal:
                guard stack.count - (marks.last ?? 0) >= 2, case .string(let module) = stack[stack.count - 2],
                    case .string(let name) = stack[stack.count - 1]
                else { throw fail("STACK_GLOBAL without a module and a name") }
                throw refused("\(module).\(name)")
            default:
                if let name = Pickle.refusedOpcodes[opcode] {
                    throw fail("opcode \(name) is not supported: only plain values (\(Pickle.supportedTypes))")
                }
                throw fail("unknown opcode 0x\(String(opcode, radix: 16))")
            }
        }
        throw fail("truncated: no STOP")
    }

    private mutating func long(count: Int) throws(PickleError) -> Node {
        guard count <= Pickle.maximumIntegerBytes else {
            throw fail(
                "an int of \(count) bytes, longer than \(Pickle.maximumIntegerBytes) (about 4300 digits, Python's "
                    + "own limit for ints as text)")
        }
        let payload = try take(count, for: "LONG")
        if count <= 8 {
            // Sign-extend to 64 bits.
            var value: UInt64 = payload.last.map { $0 & 0x80 != 0 ? ~0 : 0 } ?? 0
            for (shift, byte) in payload.enumerated() {
                value &= ~(UInt64(0xFF) << (shift * 8))
                value |= UInt64(byte) << (shift * 8)
            }
            return .int(Int(Int64(bitPattern: value)))
        }
        return .long(payload)
    }

    // MARK: Converting to JSON

    private mutating func spend(_ amount: Int) throws(PickleError) {
        budget -= amount
        if budget < 0 {
            throw fail("the value expands to more than 16 times the pickle's size (through shared memo references)")
        }
    }

    private mutating func freeze(_ node: Node, depth: Int, path: inout Set<ObjectIdentifier>) throws(PickleError)
        -> JSONValue
    {
        try spend(1)
        switch node {
        case .none: return .null
        case .bool(let value): return .bool(value)
        case .int(let value): return .int(value)
        case .long(let payload):
            let digits = Pickle.decimal(twosComplement: payload)
            return JSONValue.bigInteger(digits) ?? .bigInt(digits)
        case .float(let value): return .double(value)
        case .string(let value):
            try spend(value.utf8.count)
            return .string(value)
        case .bytes(let typeName, let count):
            throw fail(
                "holds a \(typeName) value (\(count) bytes); swift-rq's values are JSON values, which have no bytes: "
                    + "pass a str (for example base64 text)")
        case .container(let container):
            guard depth < Pickle.maximumDepth else { throw fail("nested deeper than \(Pickle.maximumDepth) levels") }
            let identity = ObjectIdentifier(container)
            guard path.insert(identity).inserted else {
                throw fail("a \(container.kind.rawValue) that contains itself")
            }
            defer { path.remove(identity) }
            if container.kind == .dict {
                var object = JSONObject()
                var index = 0
                while index + 1 < container.items.count {
                    guard case .string(let key) = container.items[index] else {
                        throw fail(
                            "holds a dict with a \(container.items[index].typeName) key; swift-rq's objects "
                                + "(like JSON's) have str keys only")
                    }
                    try spend(key.utf8.count)
                    object[key] = try freeze(container.items[index + 1], depth: depth + 1, path: &path)
                    index += 2
                }
                return .object(object)
            }
            var values: [JSONValue] = []
            values.reserveCapacity(container.items.count)
            for item in container.items { values.append(try freeze(item, depth: depth + 1, path: &path)) }
            return .array(values)
        }
    }

    /// Empties every container before it is released. Containers nest (and may even contain themselves through the
    /// memo); releasing a deep nest the ordinary way would recurse once per level and could overflow the stack on
    /// hostile input, and a cycle would leak.
    private mutating func tearDown() {
        var pending = stack + Array(memo.values) + discarded
        stack = []
        memo = [:]
        discarded = []
        while let node = pending.popLast() {
            if case .container(let container) = node {
                pending += container.items
                container.items = []
            }
        }
    }
}
