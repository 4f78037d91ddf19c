import CCurl

/// One HTTP request, made with libcurl (loaded on first use: see `CCurl`); the only code that calls it.
///
/// `send` blocks for up to the request's timeout (DNS, connect, the whole exchange), so it runs on dedicated threads
/// only (``WebhookSender``'s), never on Swift's cooperative pool.
struct HTTPRequest: Sendable {
    var method: Method
    var url: String
    /// Header lines in order, `name` and `value`; a name given here replaces libcurl's own (`User-Agent`, …).
    var headers: [(name: String, value: String)]
    var body: [UInt8]?
    /// Seconds for the whole request, connecting included.
    var timeout: Int

    enum Method: String, Sendable {
        case get = "GET"
        case post = "POST"
    }

    /// What came back: the status code, or why there was none.
    enum Response: Sendable, Equatable {
        case status(Int)
        case failed(String)
    }

    /// Sends the request and waits for the response status; the body is read and dropped.
    func send() -> Response {
        if let problem = rq_curl_load() { return .failed(String(cString: problem)) }
        guard let handle = rq_curl_easy_init() else { return .failed("curl_easy_init failed") }
        defer { rq_curl_easy_cleanup(handle) }
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { rq_curl_slist_free_all(headerList) }
        for (name, value) in headers {
            // libcurl drops a header given as "Name:"; "Name;" sends it with an empty value.
            let line = value.isEmpty ? "\(name);" : "\(name): \(value)"
            guard let appended = rq_curl_slist_append(headerList, line) else { return .failed("out of memory") }
            headerList = appended
        }
        // No "Expect: 100-continue" round trip before a larger body (Python's urllib sends none either).
        guard let withExpect = rq_curl_slist_append(headerList, "Expect:") else { return .failed("out of memory") }
        headerList = withExpect

        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            var setup = [
                rq_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorPointer.baseAddress),
                rq_curl_setopt_string(handle, CURLOPT_URL, url),
                // Threads and signals: no SIGALRM for DNS timeouts in a multithreaded process.
                rq_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1),
                rq_curl_setopt_long(handle, CURLOPT_TIMEOUT, timeout),
                rq_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, timeout),
                // As urllib: follow up to 10 redirects, over http and https only.
                rq_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1),
                rq_curl_setopt_long(handle, CURLOPT_MAXREDIRS, 10),
                rq_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"),
                rq_curl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"),
                rq_curl_setopt_string(handle, CURLOPT_USERAGENT, "swift-rq/\(RQVersion.workerVersion)"),
                rq_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, headerList),
                rq_curl_discard_body(handle),
            ]
            switch method {
            case .get:
                setup.append(rq_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
            case .post:
                let bytes = body ?? []
                setup.append(rq_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, bytes.count))
                // Copied by libcurl, so the buffer need not outlive this call.
                setup.append(
                    bytes.withUnsafeBufferPointer { buffer in
                        rq_curl_setopt_pointer(
                            handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress))
                    })
            }
            if let failed = setup.first(where: { $0 != CURLE_OK }) { return failed }
            return rq_curl_easy_perform(handle)
        }
        guard code == CURLE_OK else {
            let detail = String(
                decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .failed(detail.isEmpty ? String(cString: rq_curl_easy_strerror(code)) : detail)
        }
        var status = 0
        guard rq_curl_response_code(handle, &status) == CURLE_OK else { return .failed("no response status") }
        return .status(status)
    }
}
