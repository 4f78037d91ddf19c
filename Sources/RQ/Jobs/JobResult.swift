public import FoundationEssentials
import Glibc

/// One entry of a job's result stream (`rq:results:{id}`): the outcome of one execution.
public struct JobResult: Sendable, Hashable {
    /// The kind of outcome; RQ's integer codes.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        /// The wire code: 1 successful, 2 failed, 3 stopped, 4 retried, 5 max retries exceeded.
        public let code: Int
        /// The kind with this wire code. Codes outside 1–5 are kept as they are (``description`` reads
        /// `unknown(N)`), so results written by a newer RQ can still be listed.
        ///
        /// - Parameter code: the `type` field of the result stream entry.
        public init(code: Int) { self.code = code }
        /// Code 1: the job returned; ``JobResult/returnValue`` holds what it returned.
        public static let successful = Kind(code: 1)
        /// Code 2: the job did not finish — it threw, timed out, its horse died, its worker abandoned it, or a
        /// `stop-job` command stopped it; ``JobResult/excString`` says why. No result is written for an attempt that
        /// will be retried.
        public static let failed = Kind(code: 2)
        /// Code 3: defined by Python RQ 2.12 but never written: a job stopped by a `stop-job` command gets a
        /// ``failed`` result (`Job stopped by user, work-horse terminated.`) and the status ``JobStatus/stopped``.
        public static let stopped = Kind(code: 3)
        /// Code 4: a Python job function returned an RQ `Retry`, and the job was queued or scheduled to run again.
        /// Swift workers do not write it.
        public static let retried = Kind(code: 4)
        /// Code 5: a Python job function returned an RQ `Retry` after its retries were used up, so the job failed
        /// (status `failed`, in the failed registry). Swift workers do not write it.
        public static let maxRetriesExceeded = Kind(code: 5)
        public var description: String {
            switch code {
            case 1: return "successful"
            case 2: return "failed"
            case 3: return "stopped"
            case 4: return "retried"
            case 5: return "max retries exceeded"
            default: return "unknown(\(code))"
            }
        }
    }

    /// The stream entry id (`{milliseconds}-{sequence}`).
    public var entryID: String
    /// What happened.
    public var kind: Kind
    /// The return value; `nil` when the function returned nothing (`None`) or failed.
    public var returnValue: JSONValue?
    /// The exception text of a failure.
    public var excString: String?
    /// The worker that wrote the result (empty for results written by registry maintenance).
    public var workerName: String
    /// The execution this result belongs to.
    public var executionID: String
    /// When the result was written (the stream entry's time).
    public var createdAt: Date
    /// When the execution started (`execution_started_at`); `nil` if the entry does not record it.
    public var executionStartedAt: Date?
    /// When the execution ended (`execution_ended_at`); `nil` if the entry does not record it.
    public var executionEndedAt: Date?

    /// Whether this result records success.
    public var isSuccessful: Bool { kind == .successful }

    /// The stream fields for `XADD`, in the order Python writes them; the return value in `serializer`, the job's.
    func streamFields(serializer: JobSerializer) -> [any RedisArgument] {
        var fields: [any RedisArgument] = ["type", kind.code, "worker_name", workerName]
        if let returnValue, returnValue != .null {
            fields += ["return_value", Array(Data(serializer.serialize(returnValue)).base64EncodedString().utf8)]
        }
        if let excString {
            fields += ["exc_string", Array(Data(Zlib.compress(Array(excString.utf8))).base64EncodedString().utf8)]
        }
        fields += ["execution_id", executionID]
        if let executionStartedAt { fields += ["execution_started_at", RQTimestamp.epochString(executionStartedAt)] }
        if let executionEndedAt { fields += ["execution_ended_at", RQTimestamp.epochString(executionEndedAt)] }
        return fields
    }

    /// Reads one `XRANGE`/`XREAD` entry: `[id, [field, value, ...]]`.
    init(entry: RedisValue, jobID: String) throws(RQError) {
        guard let parts = entry.array, parts.count == 2, let id = parts[0].string else {
            throw RQError(.invalidJob, "job \(jobID): malformed result stream entry", jobID: jobID, field: "results")
        }
        let fields = parts[1].fieldPairs
        func bad(_ field: String, _ why: String) -> RQError {
            RQError(.invalidJob, "job \(jobID): result \(id) field '\(field)' \(why)", jobID: jobID, field: field)
        }
        entryID = id
        guard let typeText = fields["type"].map({ String(decoding: $0, as: UTF8.self) }), let code = Int(typeText)
        else {
            throw bad("type", "is missing or not an integer")
        }
        kind = Kind(code: code)
        if let encoded = fields["return_value"] {
            guard let data = Data(base64Encoded: Data(encoded)) else { throw bad("return_value", "is not base64") }
            do {
                returnValue = try JobSerializer.deserialize(Array(data))
            } catch {
                throw bad("return_value", "cannot be read: \(error)")
            }
        } else {
            returnValue = nil
        }
        if let encoded = fields["exc_string"] {
            guard let data = Data(base64Encoded: Data(encoded)) else { throw bad("exc_string", "is not base64") }
            let bytes = (try? Zlib.decompress(Array(data))) ?? Array(data)
            excString = String(decoding: bytes, as: UTF8.self)
        } else {
            excString = nil
        }
        workerName = fields["worker_name"].map { String(decoding: $0, as: UTF8.self) } ?? ""
        executionID = fields["execution_id"].map { String(decoding: $0, as: UTF8.self) } ?? ""
        func epoch(_ field: String) -> Date? {
            fields[field].flatMap { Double(String(decoding: $0, as: UTF8.self)) }.map {
                Date(timeIntervalSince1970: $0)
            }
        }
        executionStartedAt = epoch("execution_started_at")
        executionEndedAt = epoch("execution_ended_at")
        let milliseconds = id.split(separator: "-").first.flatMap { Double($0) } ?? 0
        createdAt = Date(timeIntervalSince1970: milliseconds / 1000)
    }

    init(
        kind: Kind, returnValue: JSONValue?, excString: String?, workerName: String, executionID: String,
        startedAt: Date?, endedAt: Date?
    ) {
        self.entryID = ""
        self.kind = kind
        self.returnValue = returnValue
        self.excString = excString
        self.workerName = workerName
        self.executionID = executionID
        self.createdAt = endedAt ?? Date()
        self.executionStartedAt = startedAt
        self.executionEndedAt = endedAt
    }
}
