/// A JSON value, as RQ's `JSONSerializer` stores job arguments, results and `meta`.
///
/// Objects keep their key order (Python dicts do), and ``serialized()`` prints exactly what Python's
/// `json.dumps` prints by default (`", "` and `": "` separators, non-ASCII escaped as `\uXXXX`), so a job written
/// by Swift is byte-for-byte what Python would write. Reading accepts any valid JSON, plus Python's `NaN` and
/// `Infinity`.
public enum JSONValue: Sendable, Hashable {
    /// JSON `null`; Python's `None`.
    case null
    /// JSON `true` or `false`; Python's `True` or `False`.
    case bool(Bool)
    /// An integer that fits in `Int`; a Python `int`. Larger ones are ``bigInt(_:)``.
    case int(Int)
    /// An integer beyond `Int`'s range, as its decimal digits (a leading `-` for negative values, no leading zeros).
    ///
    /// Python's integers have no size limit; reading JSON or pickle gives this case only for values `Int` cannot
    /// hold, so every integer has one spelling, and writing it gives the same digits back. See ``bigInteger(_:)``.
    case bigInt(String)
    /// A number with a fraction or exponent; a Python `float`. `NaN` and `Infinity` are written as Python's
    /// `json.dumps` writes them, and read back.
    case double(Double)
    /// A string; a Python `str`.
    case string(String)
    /// An array; a Python `list`. Tuples, sets and frozensets read from a pickle are arrays too, and come back to
    /// Python as lists.
    case array([JSONValue])
    /// An object, keys in order; a Python `dict` with `str` keys.
    case object(JSONObject)
}

/// A JSON object that keeps the order of its keys. Equality ignores order, as JSON's does.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// The keys, in order.
    public private(set) var keys: [String] = []
    private var storage: [String: JSONValue] = [:]

    /// An empty object.
    public init() {}

    /// An object from a dictionary literal, keeping the literal's key order: `["a": 1, "b": "x"]`.
    ///
    /// - Parameter elements: the key/value pairs; a repeated key keeps its first position and last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (key, value) in elements { self[key] = value }
    }

    /// Creates an object from key/value pairs; a repeated key keeps its first position and last value.
    ///
    /// - Parameter pairs: the keys and values, in order.
    public init(_ pairs: some Sequence<(String, JSONValue)>) {
        for (key, value) in pairs { self[key] = value }
    }

    /// The value for `key`, or nil if the object has no such key.
    ///
    /// Setting a new key adds it at the end; setting an existing key replaces its value in place; setting nil
    /// removes the key.
    ///
    /// - Parameter key: the key.
    public subscript(key: String) -> JSONValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// The number of keys.
    public var count: Int { keys.count }
    /// Whether the object has no keys.
    public var isEmpty: Bool { keys.isEmpty }

    public func makeIterator() -> some IteratorProtocol<(key: String, value: JSONValue)> {
        keys.lazy.map { (key: $0, value: storage[$0]!) }.makeIterator()
    }

    /// Whether two objects have the same keys with equal values, in any order.
    ///
    /// - Parameters:
    ///   - lhs: an object.
    ///   - rhs: another object.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool { lhs.storage == rhs.storage }
    /// Hashes the keys and values, not their order, in step with ``==(_:_:)``.
    ///
    /// - Parameter hasher: the hasher to feed.
    public func hash(into hasher: inout Hasher) { hasher.combine(storage) }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    /// ``null``, from the literal `nil`.
    ///
    /// - Parameter nilLiteral: the literal `nil`.
    public init(nilLiteral: ()) { self = .null }
    /// ``bool(_:)``, from `true` or `false`.
    ///
    /// - Parameter value: the Boolean.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// ``int(_:)``, from an integer literal.
    ///
    /// - Parameter value: the integer.
    public init(integerLiteral value: Int) { self = .int(value) }
    /// ``double(_:)``, from a floating-point literal.
    ///
    /// - Parameter value: the number.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// ``string(_:)``, from a string literal.
    ///
    /// - Parameter value: the string.
    public init(stringLiteral value: String) { self = .string(value) }
    /// ``array(_:)``, from an array literal.
    ///
    /// - Parameter elements: the elements, in order.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// ``object(_:)``, from a dictionary literal, keeping the literal's key order.
    ///
    /// - Parameter elements: the key/value pairs; a repeated key keeps its first position and last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
}

extension JSONValue {
    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
    /// The integer, if this is an integer (or a double with no fraction).
    public var intValue: Int? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9.2e18: return Int(value)
        default: return nil
        }
    }
    /// The number as a double, if this is a number.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .bigInt(let digits): return Double(digits)
        case .double(let value): return value
        default: return nil
        }
    }
    /// An integer written in decimal digits, of any size: ``int(_:)`` when `Int` holds it, else ``bigInt(_:)``;
    /// `nil` for text that is not an optional `-` followed by digits.
    ///
    /// - Parameter text: the decimal digits, with an optional leading `-`.
    /// - Returns: the integer value, or `nil` if `text` is not one.
    public static func bigInteger(_ text: String) -> JSONValue? {
        let utf8 = Array(text.utf8)
        let negative = utf8.first == UInt8(ascii: "-")
        let digits = utf8.dropFirst(negative ? 1 : 0)
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        if let value = Int(text) { return .int(value) }
        let significant = digits.drop(while: { $0 == UInt8(ascii: "0") })
        if let value = Int((negative ? "-" : "") + String(decoding: significant, as: UTF8.self)) { return .int(value) }
        return .bigInt((negative ? "-" : "") + String(decoding: significant, as: UTF8.self))
    }
    /// The Boolean, if this is a Boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }
    /// The object, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }
    /// Looks up a key when this is an object.
    ///
    /// - Parameter key: the key.
    /// - Returns: the value, or nil if this is not an object or has no such key.
    public subscript(key: String) -> JSONValue? { objectValue?[key] }
}

// MARK: - Printing

extension JSONValue: CustomStringConvertible {
    /// The JSON text, as Python's `json.dumps` writes it.
    public var description: String { String(decoding: serialized(), as: UTF8.self) }

    /// The JSON text as UTF-8 bytes, as Python's `json.dumps` writes it (ASCII only).
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(to: &out)
        return out
    }

    func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .int(let value): out.append(contentsOf: String(value).utf8)
        case .bigInt(let digits): out.append(contentsOf: digits.utf8)
        case .double(let value): out.append(contentsOf: Self.pythonFloat(value).utf8)
        case .string(let value): Self.writeString(value, to: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (key, value) in object {
                if !first { out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                first = false
                Self.writeString(key, to: &out)
                out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Python's `repr(float)`: shortest round-trip digits, `1e+16` style exponents, `NaN`/`Infinity` in JSON.
    static func pythonFloat(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        var text = "\(value)"
        // Swift writes 1e-05 as "1e-05" like Python; but large values as "1e+16" too. Integral values keep ".0".
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            var mantissa = String(text[..<e])
            var exponent = String(text[text.index(after: e)...])
            if mantissa.hasSuffix(".0") { mantissa.removeLast(2) }
            let sign = exponent.hasPrefix("-") ? "-" : "+"
            exponent = String(exponent.drop(while: { $0 == "-" || $0 == "+" }))
            if exponent.count < 2 { exponent = "0" + exponent }
            text = mantissa + "e" + sign + exponent
        }
        return text
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeString(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for unit in value.utf16 {
            switch unit {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x20...0x7E: out.append(UInt8(unit))
            default:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u")])
                out.append(hex[Int(unit >> 12) & 0xF])
                out.append(hex[Int(unit >> 8) & 0xF])
                out.append(hex[Int(unit >> 4) & 0xF])
                out.append(hex[Int(unit) & 0xF])
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

// MARK: - Parsing

/// Why a JSON text could not be read.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    /// The byte offset where reading failed.
    public let offset: Int
    /// What was wrong there.
    public let reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

extension JSONValue {
    /// Parses JSON text (UTF-8), accepting Python's `NaN`, `Infinity` and `-Infinity`.
    ///
    /// - Parameter bytes: one JSON document, as UTF-8.
    /// - Throws: ``JSONParseError`` with the byte offset where the text stops being JSON.
    public init(parsing bytes: some Collection<UInt8>) throws(JSONParseError) {
        var parser = JSONParser(bytes: Array(bytes))
        self = try parser.parseDocument()
    }

    /// Parses JSON text.
    ///
    /// - Parameter text: one JSON document.
    /// - Throws: ``JSONParseError`` with the byte offset where the text stops being JSON.
    public init(parsing text: String) throws(JSONParseError) {
        try self.init(parsing: Array(text.utf8))
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    var depth = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: index, reason: reason) }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected trailing data") }
        return value
    }

    mutating func skipWhitespace() {
        while index < bytes.count,
            bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D
                || bytes[index] == 0x09
        {
            index += 1
        }
    }

    mutating func expect(_ literal: String) -> Bool {
        let utf8 = Array(literal.utf8)
        guard index + utf8.count <= bytes.count, Array(bytes[index..<index + utf8.count]) == utf8 else { return false }
        index += utf8.count
        return true
    }

    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): if expect("true") { return .bool(true) }
        case UInt8(ascii: "f"): if expect("false") { return .bool(false) }
        case UInt8(ascii: "n"): if expect("null") { return .null }
        case UInt8(ascii: "N"): if expect("NaN") { return .double(.nan) }
        case UInt8(ascii: "I"): if expect("Infinity") { return .double(.infinity) }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: break
        }
        throw fail("unexpected character '\(Unicode.Scalar(bytes[index]))'")
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > 512 { throw fail("nesting deeper than 512 levels") }
    }

    mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var values: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(values)
        }
        while true {
            skipWhitespace()
            values.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(values)
            } else {
                throw fail("expected ',' or ']' in array")
            }
        }
    }

    mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var object = JSONObject()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':' after key") }
            index += 1
            skipWhitespace()
            object[key] = try parseValue()
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(object)
            } else {
                throw fail("expected ',' or '}' in object")
            }
        }
    }

    mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        if bytes[index] == UInt8(ascii: "-") {
            index += 1
            if expect("Infinity") { return .double(-.infinity) }
        }
        var isInteger = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                index += 1
            } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
            {
                isInteger = false
                index += 1
            } else {
                break
            }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isInteger, let value = Int(text) { return .int(value) }
        // Python reads long integers exactly (up to its 4300-digit conversion limit); so does this.
        if isInteger, text.utf8.count <= 4301, let value = JSONValue.bigInteger(text) { return value }
        guard let value = Double(text), text.last.map({ $0.isNumber }) == true else {
            index = start
            throw fail("invalid number '\(text)'")
        }
        return .double(value)
    }

    mutating func parseString() throws(JSONParseError) -> String {
        index += 1
        var run = index
        var buffer: [UInt8] = []
        func flush(_ to: Int) {
            if to > run { buffer.append(contentsOf: bytes[run..<to]) }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                flush(index)
                index += 1
                guard let text = String(validating: buffer, as: UTF8.self) else {
                    throw fail("invalid UTF-8 in string")
                }
                return text
            } else if byte == UInt8(ascii: "\\") {
                flush(index)
                index += 1
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): buffer.append(0x22)
                case UInt8(ascii: "\\"): buffer.append(0x5C)
                case UInt8(ascii: "/"): buffer.append(0x2F)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800..<0xDC00).contains(code), index + 1 < bytes.count, bytes[index] == 0x5C,
                        bytes[index + 1] == UInt8(ascii: "u")
                    {
                        index += 2
                        let low = try parseHex4()
                        if (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            buffer.append(contentsOf: Array(String(Unicode.Scalar(0xFFFD)!).utf8))
                            code = low
                        }
                    }
                    let scalar = Unicode.Scalar(code) ?? Unicode.Scalar(0xFFFD)!
                    buffer.append(contentsOf: Array(String(scalar).utf8))
                default:
                    index -= 1
                    throw fail("invalid escape '\\\(Unicode.Scalar(escape))'")
                }
                run = index
            } else if byte < 0x20 {
                throw fail("control character in string")
            } else {
                index += 1
            }
        }
        throw fail("unterminated string")
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count,
            let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
        else { throw fail("invalid \\u escape") }
        index += 4
        return value
    }
}
