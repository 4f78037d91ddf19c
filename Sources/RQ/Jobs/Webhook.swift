import FoundationEssentials

/// An HTTP request to make when a job ends `finished` or `failed` — RQ 2.10+'s `Webhook`.
///
/// Set them with ``EnqueueOptions/webhooks``. They are stored in the job's `webhooks` field exactly as Python RQ
/// stores them, so a Python worker sends a Swift producer's webhooks and a Swift worker a Python producer's. The
/// worker sends them after the job's outcome is written, on threads of its own, without waiting for them: a slow or
/// unreachable endpoint is logged and never fails or delays the job.
///
/// A `POST` carries RQ's JSON payload (`job_id`, `func_name`, `status`, `enqueued_at`, `ended_at`, and `exc_info`
/// for a failed job) with `Content-Type: application/json`; a `GET` carries nothing. ``headers`` are added to the
/// request (and replace the `Content-Type`, if they name one).
///
/// ```swift
/// let job = try await queue.enqueue(
///     "examples.add", args: [2, 3],
///     options: EnqueueOptions(webhooks: [
///         Webhook(url: "https://example.com/hooks/rq", jobStatus: .finished, method: .post, headers: ["X-Token": "…"]),
///         Webhook(url: "https://example.com/hooks/rq-failed", jobStatus: .failed),
///     ]))
/// ```
public struct Webhook: Sendable, Hashable {
    /// The HTTP method: `GET` (RQ's default) or `POST`.
    public struct Method: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case get = "GET"
            case post = "POST"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A `GET` request without a body.
        public static let get = Method(.get)
        /// A `POST` request with RQ's JSON payload.
        public static let post = Method(.post)

        init?(rawValue: String) {
            guard let base = Base(rawValue: rawValue) else { return nil }
            self.base = base
        }

        /// `GET` or `POST`.
        public var description: String { base.rawValue }
    }

    /// An `http://` or `https://` URL.
    public var url: String
    /// The status that sends it: ``JobStatus/finished`` or ``JobStatus/failed``.
    public var jobStatus: JobStatus
    /// `GET` (the default) or `POST`.
    public var method: Method
    /// Headers to add to the request; `nil` for none.
    public var headers: [String: String]?
    /// Seconds the request may take, connecting included. Defaults to 10 seconds.
    public var timeout: Int

    /// A webhook for one status; checked when the job is enqueued.
    ///
    /// - Parameters:
    ///   - url: an `http://` or `https://` URL.
    ///   - jobStatus: the status that sends it: ``JobStatus/finished`` or ``JobStatus/failed``.
    ///   - method: `GET` (the default) or `POST`.
    ///   - headers: headers to add to the request; `nil` for none.
    ///   - timeout: seconds the request may take, connecting included. Defaults to 10 seconds.
    public init(
        url: String, jobStatus: JobStatus, method: Method = .get, headers: [String: String]? = nil, timeout: Int = 10
    ) {
        self.url = url
        self.jobStatus = jobStatus
        self.method = method
        self.headers = headers
        self.timeout = timeout
    }

    /// The same request for several statuses (RQ has one status per webhook): one webhook each.
    ///
    /// - Parameters:
    ///   - statuses: the statuses that send it: ``JobStatus/finished``, ``JobStatus/failed`` or both.
    ///   - url: an `http://` or `https://` URL.
    ///   - method: `GET` (the default) or `POST`.
    ///   - headers: headers to add to the request; `nil` for none.
    ///   - timeout: seconds the request may take, connecting included. Defaults to 10 seconds.
    /// - Returns: one webhook per status, in the order given.
    public static func forStatuses(
        _ statuses: [JobStatus], url: String, method: Method = .get, headers: [String: String]? = nil,
        timeout: Int = 10
    ) -> [Webhook] {
        statuses.map { Webhook(url: url, jobStatus: $0, method: method, headers: headers, timeout: timeout) }
    }

    /// Checks what Python's `Webhook.__init__` checks, with its messages.
    func validate() throws(RQError) {
        guard Self.isHTTPURL(url) else {
            throw RQError(.invalidArgument, "url must be an http:// or https:// URL, got '\(url)'")
        }
        guard jobStatus == .finished || jobStatus == .failed else {
            throw RQError(.invalidArgument, "job_status must be 'finished' or 'failed', got '\(jobStatus)'")
        }
        guard timeout > 0 else {
            throw RQError(.invalidArgument, "timeout must be a positive integer, got \(timeout)")
        }
        for (name, value) in headers ?? [:] where !Self.isHeaderText(name) || name.isEmpty || !Self.isHeaderText(value)
        {
            throw RQError(.invalidArgument, "webhook header '\(name)' has a line break or control character")
        }
    }

    /// `scheme://netloc…` with scheme http or https and a non-empty netloc, as Python's `urlparse` sees it.
    static func isHTTPURL(_ url: String) -> Bool {
        let scheme = url.prefix { $0 != ":" }
        let rest = url.dropFirst(scheme.count)
        guard rest.hasPrefix("://") else { return false }
        let netloc = rest.dropFirst(3).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return (scheme.lowercased() == "http" || scheme.lowercased() == "https") && !netloc.isEmpty
    }

    private static func isHeaderText(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7F) }
    }

    // MARK: RQ's stored form

    /// The field of the job hash.
    static let field = "webhooks"

    /// Python's `Webhook.to_dict()`: `{"url", "job_status", "method", "headers", "timeout"}` in that order.
    var json: JSONValue {
        .object([
            "url": .string(url),
            "job_status": .string(jobStatus.rawValue),
            "method": .string(method.description),
            "headers": headers.map { headers in
                .object(JSONObject(headers.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
            } ?? .null,
            "timeout": .int(timeout),
        ])
    }

    /// The `webhooks` field as Python writes it: `json.dumps([webhook.to_dict() for webhook in webhooks])`.
    static func serialized(_ webhooks: [Webhook]) -> [UInt8] {
        JSONValue.array(webhooks.map(\.json)).serialized()
    }

    /// Reads the `webhooks` field as Python's `Webhook.from_dict` does; `nil` if any entry is one Python would reject
    /// (Python then ignores all of them, and so does the worker here).
    static func parse(_ bytes: [UInt8]) -> [Webhook]? {
        guard case .array(let entries)? = try? JSONValue(parsing: bytes) else { return nil }
        var webhooks: [Webhook] = []
        for entry in entries {
            guard case .object(let object) = entry, let url = object["url"]?.stringValue,
                let status = object["job_status"]?.stringValue
            else { return nil }
            let method: Method
            switch object["method"] {
            case nil: method = .get
            case .string(let name)?:
                guard let known = Method(rawValue: name) else { return nil }
                method = known
            default: return nil
            }
            var headers: [String: String]?
            switch object["headers"] {
            case nil, .null?: headers = nil
            case .object(let fields)?:
                var values: [String: String] = [:]
                for (name, value) in fields {
                    guard let text = value.stringValue else { return nil }
                    values[name] = text
                }
                headers = values
            default: return nil
            }
            let timeout: Int
            switch object["timeout"] {
            case nil: timeout = 10
            case .int(let seconds)?: timeout = seconds
            default: return nil
            }
            let webhook = Webhook(
                url: url, jobStatus: JobStatus(rawValue: status), method: method, headers: headers, timeout: timeout)
            do { try webhook.validate() } catch { return nil }
            webhooks.append(webhook)
        }
        return webhooks
    }

    // MARK: The request

    /// RQ's `Webhook.get_payload`: the job's id, function, this webhook's status, Python `isoformat()` times, and
    /// for `failed` the error text.
    static func payload(
        jobID: String, functionName: String, status: JobStatus, enqueuedAt: Date?, endedAt: Date?, excString: String?
    ) -> JSONValue {
        var object: JSONObject = [
            "job_id": .string(jobID),
            "func_name": .string(functionName),
            "status": .string(status.rawValue),
            "enqueued_at": enqueuedAt.map { .string(isoformat($0)) } ?? .null,
            "ended_at": endedAt.map { .string(isoformat($0)) } ?? .null,
        ]
        if status == .failed { object["exc_info"] = excString.map(JSONValue.string) ?? .null }
        return .object(object)
    }

    /// Python's `datetime.isoformat()` of the aware UTC datetime RQ reads from a hash timestamp (microseconds, as
    /// stored): `2026-01-02T03:04:05.123456+00:00`, without the fraction when it is zero.
    static func isoformat(_ date: Date) -> String {
        var text = RQTimestamp.format(date)
        text.removeLast()  // "Z"
        if text.hasSuffix(".000000") { text.removeLast(7) }
        return text + "+00:00"
    }

    /// The request for a job that ended with this webhook's status.
    func request(payload: JSONValue) -> HTTPRequest {
        var lines: [(name: String, value: String)] = []
        let custom = (headers ?? [:]).sorted { $0.key < $1.key }
        switch method {
        case .post:
            // As Python's `{'Content-Type': 'application/json', **headers}`: a header of the webhook's wins.
            if !custom.contains(where: { $0.key.lowercased() == "content-type" }) {
                lines.append((name: "Content-Type", value: "application/json"))
            }
            lines += custom.map { (name: $0.key, value: $0.value) }
            return HTTPRequest(
                method: .post, url: url, headers: lines, body: payload.serialized(), timeout: timeout)
        default:
            lines += custom.map { (name: $0.key, value: $0.value) }
            return HTTPRequest(method: .get, url: url, headers: lines, body: nil, timeout: timeout)
        }
    }
}
