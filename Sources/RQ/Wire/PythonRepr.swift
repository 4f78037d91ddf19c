/// Python's `repr` of JSON values, for RQ's default job description (the "call string").
enum PythonRepr {
    /// `func(1, 'a', k=2)`: each argument's repr cut to 75 characters (plus `...`), keyword arguments sorted, as
    /// RQ's `get_call_string(..., max_length=75)` does.
    static func callString(function: String, args: [JSONValue], kwargs: JSONObject, maxLength: Int? = 75) -> String {
        func cut(_ text: String) -> String { maxLength.map { truncate(text, to: $0) } ?? text }
        var parts = args.map { cut(repr($0)) }
        let keywordParts = kwargs.map { "\($0.key)=\(cut(repr($0.value)))" }
        parts += keywordParts.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        return "\(function)(\(parts.joined(separator: ", ")))"
    }

    static func truncate(_ text: String, to length: Int = 75) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > length else { return text }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars.prefix(length))
        return String(view) + "..."
    }

    static func repr(_ value: JSONValue) -> String {
        switch value {
        case .null: return "None"
        case .bool(let flag): return flag ? "True" : "False"
        case .int(let number): return String(number)
        case .bigInt(let digits): return digits
        case .double(let number):
            if number.isNaN { return "nan" }
            if number.isInfinite { return number < 0 ? "-inf" : "inf" }
            return JSONValue.pythonFloat(number)
        case .string(let text): return repr(text)
        case .array(let values): return "[" + values.map(repr).joined(separator: ", ") + "]"
        case .object(let object):
            return "{" + object.map { "\(repr($0.key)): \(repr($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    static func repr(_ text: String) -> String {
        let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where Character(scalar) == quote: out += "\\\(quote)"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out.append(quote)
        return out
    }
}
