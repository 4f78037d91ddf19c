/// How a job's call (`data`), `meta` and return value are stored: RQ's `JSONSerializer` or its default, pickle.
///
/// Redis does not record which one a job uses; Python RQ's producers and workers must agree on it out of band. A
/// Swift worker needs no setting: it reads both (pickle data starts with the byte `0x80`, which JSON never does) and
/// writes a job's result and `meta` in the serializer the job came with, so a Python producer reads them back.
///
/// Pickle is limited to plain values: `None`, `bool`, `int` (any size, see ``JSONValue/bigInt(_:)``), `float`,
/// `str`, `list`, `tuple`, `dict` with `str` keys, `set` and `frozenset`. Tuples and sets come back as lists. A job
/// whose pickle holds anything else (a `datetime`, a class instance, `bytes`) fails with an error that names the type;
/// nothing in a pickle is ever imported or run.
///
/// ```swift
/// // Jobs for Python workers started without `-S json` (RQ's default serializer):
/// let queue = Queue("default", redis: redis, serializer: .pickle)
/// ```
public struct JobSerializer: Sendable, Hashable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case json
        case pickle
    }
    private let base: Base
    private init(_ base: Base) { self.base = base }

    /// RQ's `JSONSerializer` (`rq.serializers.JSONSerializer`, `-S json`): UTF-8 JSON as Python's `json.dumps`
    /// writes it. The default for Swift producers.
    public static let json = JobSerializer(.json)
    /// RQ's default serializer (`rq.serializers.DefaultSerializer`, `-S pickle`): pickle protocol 5, for plain
    /// values only.
    public static let pickle = JobSerializer(.pickle)

    /// The serializer Python RQ knows by `name` (an `-S` value): `json`, `JSONSerializer`,
    /// `rq.serializers.JSONSerializer`, `pickle`, `DefaultSerializer`, `PickleSerializer`,
    /// `rq.serializers.DefaultSerializer` or `rq.serializers.PickleSerializer`; `nil` for any other name.
    ///
    /// - Parameter name: the serializer's name or dotted path.
    public init?(name: String) {
        switch name {
        case "json", "JSONSerializer", "rq.serializers.JSONSerializer": self = .json
        case "pickle", "DefaultSerializer", "PickleSerializer", "rq.serializers.DefaultSerializer",
            "rq.serializers.PickleSerializer":
            self = .pickle
        default: return nil
        }
    }

    /// `json` or `pickle`.
    public var description: String {
        switch base {
        case .json: return "json"
        case .pickle: return "pickle"
        }
    }

    /// The stored bytes of a value.
    func serialize(_ value: JSONValue) -> [UInt8] {
        switch base {
        case .json: return value.serialized()
        case .pickle: return Pickle.encode(value)
        }
    }

    /// The serializer that wrote `bytes`: pickle when they start with pickle's `PROTO` opcode, else JSON.
    static func detect(_ bytes: some Collection<UInt8>) -> JobSerializer {
        bytes.first == Pickle.Opcode.proto ? .pickle : .json
    }

    /// Reads bytes written by either serializer (see ``detect(_:)``); the error says what is wrong.
    static func deserialize(_ bytes: [UInt8]) throws(DeserializationError) -> JSONValue {
        switch detect(bytes).base {
        case .pickle:
            do { return try Pickle.decode(bytes) } catch { throw DeserializationError(description: "\(error)") }
        case .json:
            do { return try JSONValue(parsing: bytes) } catch {
                throw DeserializationError(description: "is not JSON or pickle: \(error)")
            }
        }
    }

    struct DeserializationError: Error, CustomStringConvertible {
        let description: String
    }
}
