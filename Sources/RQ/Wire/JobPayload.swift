/// The `data` field: `[func_name, instance, args, kwargs]` as RQ's serializer writes it — JSON by default, or pickle
/// (see ``JobSerializer``) — zlib-compressed unless it is short.
struct JobPayload: Sendable, Hashable {
    var functionName: String
    var args: [JSONValue]
    var kwargs: JSONObject
    /// The serializer the call is stored in; a job's result and `meta` are written in the same one.
    var serializer: JobSerializer = .json

    /// Below this many bytes the serialized call is stored as it is: deflating a short payload saves little or
    /// nothing (a zlib stream adds 6 bytes of header and checksum) and costs the most per byte. Python RQ reads
    /// uncompressed data too: when `zlib.decompress` fails it takes the raw bytes (`rq/job.py`, `Job.restore`).
    static let compressionThreshold = 128

    /// The stored bytes: what Python writes for the same call (a tuple `(func_name, None, args, kwargs)` in pickle),
    /// zlib-compressed (see ``Zlib/compress(_:)``) when it is at least ``compressionThreshold`` bytes long.
    func encoded() -> [UInt8] {
        let serialized: [UInt8]
        if serializer == .pickle {
            serialized = Pickle.encodeJob(functionName: functionName, args: args, kwargs: kwargs)
        } else {
            serialized = JSONValue.array([.string(functionName), .null, .array(args), .object(kwargs)]).serialized()
        }
        return serialized.count < Self.compressionThreshold ? serialized : Zlib.compress(serialized)
    }

    /// Reads the stored bytes, JSON or pickle. Like Python, data that is not a zlib stream is read as it is.
    init(decoding bytes: [UInt8], jobID: String) throws(RQError) {
        let serialized: [UInt8]
        do {
            serialized = try Zlib.decompress(bytes)
        } catch {
            guard let first = bytes.first else { throw RQError.invalidJob(jobID, field: "data", "is empty") }
            if first != UInt8(ascii: "[") && first != Pickle.Opcode.proto {
                throw RQError.invalidJob(jobID, field: "data", "is neither a zlib stream, JSON nor pickle (\(error))")
            }
            serialized = bytes
        }
        let serializer = JobSerializer.detect(serialized)
        let value: JSONValue
        do {
            value = try JobSerializer.deserialize(serialized)
        } catch {
            throw RQError.invalidJob(jobID, field: "data", "cannot be read: \(error)")
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
        self.serializer = serializer
    }

    init(functionName: String, args: [JSONValue], kwargs: JSONObject, serializer: JobSerializer = .json) {
        self.functionName = functionName
        self.args = args
        self.kwargs = kwargs
        self.serializer = serializer
    }
}
