import RQ

/// A Python literal as `ast.literal_eval` reads it: `None`, `True`, `False`, numbers, strings, bytes, and lists,
/// tuples, sets and dicts of them.
///
/// Python RQ users write such literals in two places swift-rq reads: `rq enqueue` arguments (`%literal`,
/// `key%=literal`) and settings modules (`-c settings`, a file of `NAME = literal` lines). The parser only reads;
/// nothing is evaluated, called or imported, and anything that is not a literal (a name, a call, an operator other
/// than a sign) is an error that says where it is.
indirect enum PythonLiteral: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer beyond 64 bits, as its decimal digits (with a leading `-` if negative).
    case bigInt(String)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PythonLiteral])
    case tuple([PythonLiteral])
    case set([PythonLiteral])
    case dict([(key: PythonLiteral, value: PythonLiteral)])

    /// Python's name for the value's type, as its error messages use it.
    var typeName: String {
        switch self {
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .list: return "list"
        case .tuple: return "tuple"
        case .set: return "set"
        case .dict: return "dict"
        }
    }

    /// A JSON value as Python's `json.loads` returns it.
    init(_ json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let value): self = .bool(value)
        case .int(let value): self = .int(value)
        case .bigInt(let digits): self = .bigInt(digits)
        case .double(let value): self = .float(value)
        case .string(let value): self = .string(value)
        case .array(let items): self = .list(items.map(PythonLiteral.init))
        case .object(let object): self = .dict(object.map { (.string($0.key), PythonLiteral($0.value)) })
        }
    }

    /// Python's `repr`, as RQ's call strings (job descriptions) show arguments.
    var repr: String {
        switch self {
        case .none: return "None"
        case .bool(let value): return value ? "True" : "False"
        case .int(let value): return String(value)
        case .bigInt(let digits): return digits
        case .float(let value):
            if value.isNaN { return "nan" }
            if value.isInfinite { return value < 0 ? "-inf" : "inf" }
            return String(decoding: JSONValue.double(value).serialized(), as: UTF8.self)
        case .string(let value): return Self.repr(value.unicodeScalars.map(\.value), prefix: "")
        case .bytes(let value): return Self.repr(value.map(UInt32.init), prefix: "b")
        case .list(let items): return "[" + items.map(\.repr).joined(separator: ", ") + "]"
        case .tuple(let items):
            return items.count == 1 ? "(\(items[0].repr),)" : "(" + items.map(\.repr).joined(separator: ", ") + ")"
        case .set(let items): return items.isEmpty ? "set()" : "{" + items.map(\.repr).joined(separator: ", ") + "}"
        case .dict(let pairs):
            return "{" + pairs.map { "\($0.key.repr): \($0.value.repr)" }.joined(separator: ", ") + "}"
        }
    }

    /// Python's quoting: single quotes unless the text holds a single quote and no double quote.
    private static func repr(_ units: [UInt32], prefix: String) -> String {
        let (single, double) = (UInt32(39), UInt32(34))
        let quote = units.contains(single) && !units.contains(double) ? double : single
        var out = prefix + String(Unicode.Scalar(UInt8(quote)))
        for unit in units {
            switch unit {
            case 92: out += "\\\\"
            case 10: out += "\\n"
            case 13: out += "\\r"
            case 9: out += "\\t"
            case quote: out += "\\" + String(Unicode.Scalar(UInt8(quote)))
            case _ where unit < 0x20 || unit == 0x7F || (!prefix.isEmpty && unit > 0x7F):
                let hex = String(unit, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            default: out.unicodeScalars.append(Unicode.Scalar(unit) ?? "?")
            }
        }
        out.unicodeScalars.append(Unicode.Scalar(UInt8(quote)))
        return out
    }

    /// Python's `==` for dict keys: `1`, `1.0` and `True` are one key.
    func pythonEquals(_ other: PythonLiteral) -> Bool {
        func number(_ value: PythonLiteral) -> Double? {
            switch value {
            case .bool(let flag): return flag ? 1 : 0
            case .int(let number): return Double(number)
            case .float(let number): return number
            default: return nil
            }
        }
        switch (self, other) {
        case (.int(let a), .int(let b)): return a == b
        case (.bigInt(let a), .bigInt(let b)): return a == b
        case (.none, .none): return true
        case (.string(let a), .string(let b)): return a == b
        case (.bytes(let a), .bytes(let b)): return a == b
        case (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pythonEquals($1) }
        default:
            guard let a = number(self), let b = number(other) else { return false }
            return a == b
        }
    }

    /// The value as RQ's JSON serializer (`json.dumps`) writes it: tuples become lists, and dict keys that are
    /// numbers, booleans or None become strings, as in Python. Sets and bytes have no JSON form; they fail with
    /// Python's own message.
    func jsonValue() throws(PythonLiteralError) -> JSONValue {
        switch self {
        case .none: return .null
        case .bool(let value): return .bool(value)
        case .int(let value): return .int(value)
        case .bigInt(let digits): return JSONValue.bigInteger(digits) ?? .double(Double(digits) ?? .nan)
        case .float(let value): return .double(value)
        case .string(let value): return .string(value)
        case .list(let items), .tuple(let items):
            var values: [JSONValue] = []
            for item in items { values.append(try item.jsonValue()) }
            return .array(values)
        case .dict(let pairs):
            var object = JSONObject()
            for (key, value) in pairs { object[try key.jsonKey()] = try value.jsonValue() }
            return .object(object)
        case .bytes, .set:
            throw PythonLiteralError("Object of type \(typeName) is not JSON serializable")
        }
    }

    private func jsonKey() throws(PythonLiteralError) -> String {
        switch self {
        case .string(let value): return value
        case .int(let value): return String(value)
        case .bigInt(let digits): return digits
        case .float(let value): return String(decoding: JSONValue.double(value).serialized(), as: UTF8.self)
        case .bool(let value): return value ? "true" : "false"
        case .none: return "null"
        default: throw PythonLiteralError("keys must be str, int, float, bool or None, not \(typeName)")
        }
    }
}

/// Why a text is not a Python literal; `line` is 1-based.
struct PythonLiteralError: Error, CustomStringConvertible {
    let message: String
    var line: Int?

    init(_ message: String, line: Int? = nil) {
        self.message = message
        self.line = line
    }

    var description: String { message }
}

/// Reads Python literals and modules of `NAME = literal` assignments, by Python's grammar for them.
struct PythonLiteralParser {
    private let scalars: [Unicode.Scalar]
    private var position = 0
    /// Open brackets: inside them a newline is only white space, as in Python.
    private var depth = 0
    private var line = 1

    private init(_ text: String) { scalars = Array(text.unicodeScalars) }

    /// `ast.literal_eval(text)`: one literal, or several separated by commas (a tuple).
    static func evaluate(_ text: String) throws(PythonLiteralError) -> PythonLiteral {
        var parser = PythonLiteralParser(text)
        parser.skipBlankLines()
        let value = try parser.expressionList()
        parser.skipBlankLines()
        guard parser.atEnd else { throw parser.error("unexpected '\(parser.peek!)' after the literal") }
        return value
    }

    /// The assignments of a settings module — `NAME = literal` statements, comments, blank lines and docstrings —
    /// in order, with their line numbers. Any other statement is an error naming its line.
    static func assignments(_ text: String) throws(PythonLiteralError) -> [(
        name: String, value: PythonLiteral, line: Int
    )] {
        var parser = PythonLiteralParser(text)
        var result: [(name: String, value: PythonLiteral, line: Int)] = []
        while true {
            parser.skipBlankLines()
            guard !parser.atEnd else { return result }
            let statementLine = parser.line
            do throws(PythonLiteralError) {
                if let name = parser.identifier() {
                    parser.skipSpace()
                    guard parser.peek == "=", parser.peek(at: 1) != "=" else {
                        throw parser.error("only NAME = literal assignments can be read")
                    }
                    parser.position += 1
                    parser.skipSpace()
                    result.append((name, try parser.expressionList(), statementLine))
                } else if let first = parser.peek, first == "\"" || first == "'" {
                    _ = try parser.expressionList()  // a docstring
                } else {
                    throw parser.error("only NAME = literal assignments can be read")
                }
                parser.skipSpace()
                if parser.peek == ";" { throw parser.error("one statement per line, please") }
                guard parser.atEnd || parser.peek == "\n" || parser.peek == "\r" else {
                    throw parser.error("only NAME = literal assignments can be read")
                }
            } catch {
                throw PythonLiteralError(error.message, line: statementLine)
            }
        }
    }

    // MARK: Expressions

    private mutating func expressionList() throws(PythonLiteralError) -> PythonLiteral {
        let first = try expression()
        skipSpace()
        guard peek == "," else { return first }
        var items = [first]
        while peek == "," {
            position += 1
            skipSpace()
            guard let next = peek, !"\n\r)]};#".unicodeScalars.contains(next) else { break }
            items.append(try expression())
            skipSpace()
        }
        return .tuple(items)
    }

    private mutating func expression() throws(PythonLiteralError) -> PythonLiteral {
        skipSpace()
        guard let scalar = peek else { throw error("a literal is missing") }
        switch scalar {
        case "+", "-":
            position += 1
            skipSpace()
            let operand = try expression()
            switch operand {
            case .int(let value):
                if scalar == "+" { return operand }
                let (negated, overflow) = (0).subtractingReportingOverflow(value)
                return overflow ? .bigInt("-\(value)".replacing("--", with: "")) : .int(negated)
            case .bigInt(let digits):
                if scalar == "+" { return operand }
                return .bigInt(digits.hasPrefix("-") ? String(digits.dropFirst()) : "-" + digits)
            case .float(let value): return .float(scalar == "+" ? value : -value)
            default: throw error("a sign goes before a number only, not a \(operand.typeName)")
            }
        case "0"..."9": return try number()
        case "." where peek(at: 1).map { ("0"..."9").contains($0) } == true: return try number()
        case "\"", "'": return try strings()
        case "(":
            return try bracketed(close: ")") { items, sawComma in
                items.count == 1 && !sawComma ? items[0] : .tuple(items)
            }
        case "[": return try bracketed(close: "]") { items, _ in .list(items) }
        case "{": return try braces()
        default:
            guard let name = identifier() else { throw error("'\(scalar)' does not start a literal") }
            switch name {
            case "None": return .none
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "set":
                skipSpace()
                if peek == "(" {
                    position += 1
                    skipSpace()
                    if peek == ")" {
                        position += 1
                        return .set([])
                    }
                }
                throw error("only the empty set() is a literal")
            default:
                if peek == "\"" || peek == "'", let prefix = StringPrefix(name) { return try strings(prefix: prefix) }
                throw error("'\(name)' is a name, not a literal (nothing is evaluated)")
            }
        }
    }

    /// Comma-separated expressions up to `close`; `make` gets them and whether a comma was seen.
    private mutating func bracketed(
        close: Unicode.Scalar, _ make: ([PythonLiteral], Bool) -> PythonLiteral
    ) throws(PythonLiteralError) -> PythonLiteral {
        position += 1
        depth += 1
        var items: [PythonLiteral] = []
        var sawComma = false
        skipSpace()
        while peek != close {
            items.append(try expression())
            skipSpace()
            if peek == "," {
                sawComma = true
                position += 1
                skipSpace()
            } else if peek != close {
                throw error(peek.map { "expected ',' or '\(close)', found '\($0)'" } ?? "'\(close)' is missing")
            }
        }
        position += 1
        depth -= 1
        return make(items, sawComma)
    }

    private mutating func braces() throws(PythonLiteralError) -> PythonLiteral {
        position += 1
        depth += 1
        defer { depth -= 1 }
        skipSpace()
        if peek == "}" {
            position += 1
            return .dict([])
        }
        let first = try expression()
        skipSpace()
        if peek != ":" {
            var items = [first]
            while peek == "," {
                position += 1
                skipSpace()
                if peek == "}" { break }
                items.append(try expression())
                skipSpace()
            }
            guard peek == "}" else { throw error("'}' is missing") }
            position += 1
            for item in items { try checkHashable(item) }
            return .set(items)
        }
        var pairs: [(key: PythonLiteral, value: PythonLiteral)] = []
        var key = first
        while true {
            try checkHashable(key)
            guard peek == ":" else { throw error("expected ':' after a dict key") }
            position += 1
            let value = try expression()
            // A repeated key keeps its first place and takes the last value, as in a Python dict.
            if let index = pairs.firstIndex(where: { $0.key.pythonEquals(key) }) {
                pairs[index].value = value
            } else {
                pairs.append((key, value))
            }
            skipSpace()
            if peek == "," {
                position += 1
                skipSpace()
            }
            if peek == "}" {
                position += 1
                return .dict(pairs)
            }
            guard !atEnd else { throw error("'}' is missing") }
            key = try expression()
            skipSpace()
        }
    }

    private func checkHashable(_ value: PythonLiteral) throws(PythonLiteralError) {
        switch value {
        case .list, .dict, .set: throw error("unhashable type: '\(value.typeName)'")
        case .tuple(let items): for item in items { try checkHashable(item) }
        default: return
        }
    }

    // MARK: Numbers

    private mutating func number() throws(PythonLiteralError) -> PythonLiteral {
        var text = ""
        while let scalar = peek {
            let isExponentSign =
                (scalar == "+" || scalar == "-") && (text.last == "e" || text.last == "E") && !text.hasPrefix("0x")
                && !text.hasPrefix("0X")
            guard
                scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "."
                    || isExponentSign
            else { break }
            text.unicodeScalars.append(scalar)
            position += 1
        }
        if text.hasSuffix("j") || text.hasSuffix("J") { throw error("complex numbers are not supported") }
        guard !text.hasPrefix("_"), !text.hasSuffix("_"), !text.contains("__") else {
            throw error("invalid number '\(text)'")
        }
        let digits = text.replacing("_", with: "")
        let lower = digits.lowercased()
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where lower.hasPrefix(prefix) {
            let body = lower.dropFirst(2)
            guard !body.isEmpty, body.allSatisfy({ Int(String($0), radix: radix) != nil }) else {
                throw error("invalid number '\(text)'")
            }
            guard let value = Int(body, radix: radix) else {
                throw error("integers beyond 64 bits are taken in decimal only")
            }
            return .int(value)
        }
        if lower.contains(".") || lower.contains("e") {
            guard let value = Double(lower), lower.allSatisfy({ "0123456789.e+-".contains($0) }) else {
                throw error("invalid number '\(text)'")
            }
            return .float(value)
        }
        guard lower.allSatisfy(\.isWholeNumber) else { throw error("invalid number '\(text)'") }
        if lower.count > 1, lower.hasPrefix("0"), lower.contains(where: { $0 != "0" }) {
            throw error("leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal")
        }
        guard let value = Int(lower) else {
            // Python's ints have no size limit (up to its 4,300-digit conversion limit).
            guard lower.count <= 4300 else { throw error("integer of more than 4300 digits") }
            return .bigInt(String(lower.drop { $0 == "0" }))
        }
        return .int(value)
    }

    // MARK: Strings

    private struct StringPrefix {
        var raw = false
        var bytes = false

        init() {}

        init?(_ text: String) {
            switch text.lowercased() {
            case "r": raw = true
            case "u": break
            case "b": bytes = true
            case "br", "rb": (raw, bytes) = (true, true)
            default: return nil
            }
        }
    }

    /// One string literal or several adjacent ones, concatenated as Python does.
    private mutating func strings(prefix first: StringPrefix = StringPrefix()) throws(PythonLiteralError)
        -> PythonLiteral
    {
        var prefix = first
        var text: [UInt32] = []
        var isBytes: Bool?
        while true {
            if let isBytes, isBytes != prefix.bytes { throw error("cannot mix bytes and nonbytes literals") }
            isBytes = prefix.bytes
            text += try stringBody(prefix)
            let save = (position, line)
            skipSpace()
            if peek == "\"" || peek == "'" {
                prefix = StringPrefix()
                continue
            }
            let start = position
            if let name = identifier(), peek == "\"" || peek == "'", let next = StringPrefix(name) {
                prefix = next
                continue
            }
            position = start
            (position, line) = save
            break
        }
        if isBytes == true {
            for unit in text where unit > 0xFF { throw error("bytes can only contain ASCII literal characters") }
            return .bytes(text.map { UInt8($0) })
        }
        var string = ""
        for unit in text {
            guard let scalar = Unicode.Scalar(unit) else { throw error("invalid character U+\(unit) in a string") }
            string.unicodeScalars.append(scalar)
        }
        return .string(string)
    }

    /// The characters of one quoted literal (after its prefix), escapes resolved.
    private mutating func stringBody(_ prefix: StringPrefix) throws(PythonLiteralError) -> [UInt32] {
        let quote = peek!
        let triple = peek(at: 1) == quote && peek(at: 2) == quote
        position += triple ? 3 : 1
        var result: [UInt32] = []
        while true {
            guard let scalar = peek else { throw error("unterminated string literal") }
            if scalar == quote && (!triple || (peek(at: 1) == quote && peek(at: 2) == quote)) {
                position += triple ? 3 : 1
                return result
            }
            if scalar == "\n" {
                guard triple else { throw error("unterminated string literal") }
                line += 1
            }
            position += 1
            guard scalar == "\\" else {
                result.append(scalar.value)
                continue
            }
            guard let escaped = peek else { throw error("unterminated string literal") }
            position += 1
            if prefix.raw {
                result += [UInt32(92), escaped.value]
                if escaped == "\n" { line += 1 }
                continue
            }
            switch escaped {
            case "\n": line += 1
            case "\\", "'", "\"": result.append(escaped.value)
            case "a": result.append(7)
            case "b": result.append(8)
            case "f": result.append(12)
            case "n": result.append(10)
            case "r": result.append(13)
            case "t": result.append(9)
            case "v": result.append(11)
            case "0"..."7":
                var value = escaped.value - 48
                for _ in 0..<2 {
                    guard let digit = peek, ("0"..."7").contains(digit) else { break }
                    value = value * 8 + digit.value - 48
                    position += 1
                }
                result.append(value)
            case "x": result.append(try hexEscape(2))
            case "u" where !prefix.bytes: result.append(try hexEscape(4))
            case "U" where !prefix.bytes: result.append(try hexEscape(8))
            case "N" where !prefix.bytes: throw error("\\N{...} escapes are not supported; write the character")
            default: result += [UInt32(92), escaped.value]
            }
        }
    }

    private mutating func hexEscape(_ count: Int) throws(PythonLiteralError) -> UInt32 {
        var text = ""
        for _ in 0..<count {
            guard let digit = peek, digit.properties.isASCIIHexDigit else {
                throw error("truncated \\x, \\u or \\U escape in a string")
            }
            text.unicodeScalars.append(digit)
            position += 1
        }
        return UInt32(text, radix: 16)!
    }

    // MARK: Characters

    private var atEnd: Bool { position >= scalars.count }
    private var peek: Unicode.Scalar? { peek(at: 0) }
    private func peek(at offset: Int) -> Unicode.Scalar? {
        position + offset < scalars.count ? scalars[position + offset] : nil
    }

    private mutating func identifier() -> String? {
        guard let first = peek, first == "_" || first.properties.isAlphabetic else { return nil }
        var name = ""
        while let scalar = peek, scalar == "_" || scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
            name.unicodeScalars.append(scalar)
            position += 1
        }
        return name
    }

    /// Skips spaces, comments and line continuations; newlines too inside brackets.
    private mutating func skipSpace() {
        while let scalar = peek {
            switch scalar {
            case " ", "\t", "\u{0C}": position += 1
            case "#": while let next = peek, next != "\n" { position += 1 }
            case "\\" where peek(at: 1) == "\n":
                position += 2
                line += 1
            case "\\" where peek(at: 1) == "\r" && peek(at: 2) == "\n":
                position += 3
                line += 1
            case "\r": position += 1
            case "\n" where depth > 0:
                position += 1
                line += 1
            default: return
            }
        }
    }

    /// Skips white space, comments and newlines between statements.
    private mutating func skipBlankLines() {
        while true {
            skipSpace()
            guard peek == "\n" else { return }
            position += 1
            line += 1
        }
    }

    private func error(_ message: String) -> PythonLiteralError { PythonLiteralError(message, line: line) }
}
