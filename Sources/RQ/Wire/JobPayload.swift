/// The `data` field: JSON `[func_name, instance, args, kwargs]` as RQ's JSONSerializer writes it, zlib-compressed
/// unless it is short.
struct JobPayload: Sendable, Hashable {
    var functionName: String
    var args: [JSONValue]
    var kwargs: JSONObject

    /// Below this many bytes the JSON is stored as it is: deflating a short payload saves little or nothing (a zlib
    /// stream adds 6 bytes of header and checksum) and costs the most per byte. Python RQ reads plain JSON too: when
    /// `zlib.decompress` fails it takes the raw bytes (`rq/job.py`, `Job.restore`).
    static let compressionThreshold = 128

    /// The stored bytes: the JSON Python writes for the same call, zlib-compressed (see ``Zlib/compress(_:)``) when
    /// it is at least ``compressionThreshold`` bytes long.
    func encoded() -> [UInt8] {
        let json = JSONValue.array([.string(functionName), .null, .array(args), .object(kwargs)]).serialized()
        return json.count < Self.compressionThreshold ? json : Zlib.compress(json)
    }

    /// Reads the stored bytes. Like Python, data that is not a zlib stream is tried as plain JSON.
    init(decoding bytes: [UInt8], jobID: String) throws(RQError) {
        let json: [UInt8]
        do {
            json = try Zlib.decompress(bytes)
        } catch {
            guard let first = bytes.first else { throw RQError.invalidJob(jobID, field: "data", "is empty") }
            if first == 0x80 {
                throw RQError.invalidJob(
                    jobID, field: "data",
                    "is pickled (Python's default serializer); enqueue with serializer=JSONSerializer")
            }
            if first != UInt8(ascii: "[") {
                throw RQError.invalidJob(jobID, field: "data", "is neither a zlib stream nor JSON (\(error))")
            }
            json = bytes
        }
        if json.first == 0x80 {
            throw RQError.invalidJob(
                jobID, field: "data", "is pickled (Python's default serializer); enqueue with serializer=JSONSerializer"
            )
        }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: json)
        } catch {
            throw RQError.invalidJob(jobID, field: "data", "is not valid JSON: \(error)")
        }
        guard case .array(let parts) = value, parts.count == 4 else {
            throw RQError.invalidJob(jobID, field: "data", "is not a [func_name, instance, args, kwargs] list")
        }
        guard case .string(let name) = parts[0], !name.isEmpty else {
            throw RQError.invalidJob(jobID, field: "data", "has no function name")
        }
        guard case .array(let args) = parts[2] else {
            throw RQError.invalidJob(jobID, field: "data", "has args that are not a list")
        }
        let kwargs: JSONObject
        switch parts[3] {
        case .object(let object): kwargs = object
        case .null: kwargs = [:]
        default: throw RQError.invalidJob(jobID, field: "data", "has kwargs that are not an object")
        }
        self.functionName = name
        self.args = args
        self.kwargs = kwargs
    }

    init(functionName: String, args: [JSONValue], kwargs: JSONObject) {
        self.functionName = functionName
        self.args = args
        self.kwargs = kwargs
    }
}
