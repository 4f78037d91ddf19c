import FoundationEssentials
import Glibc

extension JSONValue: Codable {
    /// Decodes any JSON value from a single-value container: null, Boolean, integer, double, string, array or
    /// object (whose keys are then sorted, as a decoder's dictionary has no order).
    ///
    /// - Parameter decoder: the decoder to read from.
    /// - Throws: `DecodingError` if the value is none of these.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            let object = try container.decode([String: JSONValue].self)
            self = .object(JSONObject(object.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
        }
    }

    /// Encodes the value into a single-value container; a ``bigInt(_:)`` is encoded as the nearest double, as
    /// `Codable` has no wider integer.
    ///
    /// - Parameter encoder: the encoder to write to.
    /// - Throws: `EncodingError` if the encoder refuses the value.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        // Codable has no integer wider than 64 bits: the nearest double is the closest it can say.
        case .bigInt(let digits): try container.encode(Double(digits) ?? .nan)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let object):
            try container.encode(Dictionary(uniqueKeysWithValues: object.map { ($0.key, $0.value) }))
        }
    }

    /// Encodes a Swift value to JSON (through `JSONEncoder`), keeping the key order it was encoded in.
    ///
    /// Non-finite doubles are written as Python's `NaN`, `Infinity` and `-Infinity`.
    ///
    /// - Parameter value: the value to encode.
    /// - Throws: `EncodingError` if `value` cannot be encoded.
    public init(encoding value: some Encodable) throws {
        if let value = value as? JSONValue {
            self = value
            return
        }
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let data = try encoder.encode(value)
        self = try JSONValue(parsing: data)
    }

    /// Decodes a Swift value from this JSON (through `JSONDecoder`).
    ///
    /// - Parameter type: the type to decode.
    /// - Returns: the decoded value.
    /// - Throws: `DecodingError` if this JSON does not decode as `T`.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        if let value = self as? T { return value }
        return try JSONDecoder().decode(T.self, from: Data(serialized()))
    }
}
