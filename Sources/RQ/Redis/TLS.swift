internal import COpenSSL
import Glibc

/// The one place that calls OpenSSL: a client context built from a ``TLSConfiguration``, and TLS sessions over
/// connected sockets. Like hiredis, it runs on a connection's own thread only — the handshake's waits included —
/// never on the Swift cooperative pool.
final class TLSContext: @unchecked Sendable {
    private let context: OpaquePointer
    let configuration: TLSConfiguration

    /// OpenSSL set up once, before the first context, without its exit-time cleanup (see the shim).
    private static let initialized: Void = { _ = rq_openssl_init_without_atexit() }()

    /// Loads the trusted CAs and the client certificate.
    ///
    /// - Parameter endpoint: the configured server, for error messages.
    /// - Throws: ``RedisError`` `connectionFailed` naming the file that cannot be used.
    init(_ configuration: TLSConfiguration, endpoint: RedisConfiguration.Endpoint) throws(RedisError) {
        self.configuration = configuration
        _ = Self.initialized
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw RedisError(.connectionFailed, "TLS for Redis at \(endpoint): \(Self.errorQueueText())")
        }
        self.context = context
        _ = rq_ssl_ctx_set_modes(context)
        _ = rq_ssl_ctx_set_min_tls12(context)
        func problem(_ what: String) -> RedisError {
            RedisError(.connectionFailed, "TLS for Redis at \(endpoint): \(what): \(Self.errorQueueText())")
        }
        if configuration.certificateRequirement == .none {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            if let file = configuration.caCertificates {
                guard SSL_CTX_load_verify_locations(context, file, nil) == 1 else {
                    throw problem("cannot load the CA certificates in ssl_ca_certs \(file)")
                }
            } else if SSL_CTX_set_default_verify_paths(context) != 1 {
                throw problem("cannot load the system's CA certificates")
            }
        }
        if let certificate = configuration.certificate {
            guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
                throw problem("cannot load the client certificate in ssl_certfile \(certificate)")
            }
            let key = configuration.privateKey ?? certificate
            guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
                throw problem("cannot load the private key in ssl_keyfile \(key)")
            }
            guard SSL_CTX_check_private_key(context) == 1 else {
                throw problem("the private key in \(key) does not belong to the certificate in \(certificate)")
            }
        }
    }

    deinit { SSL_CTX_free(context) }

    /// Runs the TLS handshake over a socket connected to `endpoint` (behind Sentinel, the master the sentinels named:
    /// the name that is sent and checked), which it makes non-blocking, waiting at most until `deadline`.
    ///
    /// - Throws: ``RedisError`` `connectionFailed` saying what failed (an unknown CA, a name that does not match, an
    ///   expired certificate, a server that does not speak TLS), or `timeout`.
    func handshake(socket: Int32, endpoint: RedisConfiguration.Endpoint, deadline: ContinuousClock.Instant)
        throws(RedisError) -> TLSStream
    {
        _ = fcntl(socket, F_SETFL, fcntl(socket, F_GETFL) | O_NONBLOCK)
        guard let ssl = SSL_new(context) else { throw failure(nil, endpoint: endpoint) }
        let stream = TLSStream(ssl: ssl, socket: socket)
        SSL_set_fd(ssl, socket)
        if let host = endpoint.host {
            // Server-name indication for names (not addresses), as Python's ssl does.
            if !Self.isAddress(host) { _ = rq_ssl_set_server_name(ssl, host) }
            if configuration.certificateRequirement != .none, configuration.checkHostname {
                let parameters = SSL_get0_param(ssl)
                if Self.isAddress(host) {
                    X509_VERIFY_PARAM_set1_ip_asc(parameters, host)
                } else {
                    X509_VERIFY_PARAM_set1_host(parameters, host, 0)
                }
            }
        }
        while true {
            ERR_clear_error()
            let result = SSL_connect(ssl)
            if result == 1 { return stream }
            let error = SSL_get_error(ssl, result)
            let events: Int16
            switch error {
            case SSL_ERROR_WANT_READ: events = Int16(POLLIN)
            case SSL_ERROR_WANT_WRITE: events = Int16(POLLOUT)
            default: throw failure(ssl, code: error, endpoint: endpoint)
            }
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero, TLSStream.wait(socket, for: events, milliseconds: remaining.wholeMilliseconds)
            else {
                throw RedisError(
                    .timeout,
                    "TLS handshake with Redis at \(endpoint) did not finish within the connect timeout (is it a TLS "
                        + "port?)")
            }
        }
    }

    /// What went wrong in a handshake, in words a user can act on.
    private func failure(
        _ ssl: OpaquePointer?, code: Int32 = SSL_ERROR_SSL, endpoint: RedisConfiguration.Endpoint
    ) -> RedisError {
        let prefix = "TLS handshake with Redis at \(endpoint) failed"
        if let ssl, configuration.certificateRequirement != .none {
            let result = Int32(SSL_get_verify_result(ssl))
            if result != X509_V_OK {
                let detail = String(cString: X509_verify_cert_error_string(Int(result)))
                let what: String
                switch result {
                case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
                    X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
                    X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
                    what =
                        "the server's certificate is not signed by a trusted CA (\(detail)); give its CA with "
                        + "ssl_ca_certs"
                case X509_V_ERR_CERT_HAS_EXPIRED: what = "the server's certificate has expired (\(detail))"
                case X509_V_ERR_CERT_NOT_YET_VALID: what = "the server's certificate is not valid yet (\(detail))"
                case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
                    what =
                        "the server's certificate does not name \(endpoint.host ?? "the host") (\(detail)); "
                        + "connect by a name it has, or set ssl_check_hostname=false"
                default: what = "the server's certificate did not verify (\(detail))"
                }
                return RedisError(.connectionFailed, "\(prefix): \(what)")
            }
        }
        if code == SSL_ERROR_SYSCALL {
            let reason = errno == 0 ? "the server closed the connection" : String(cString: strerror(errno))
            return RedisError(.connectionFailed, "\(prefix): \(reason) (is it a TLS port?)")
        }
        return RedisError(.connectionFailed, "\(prefix): \(Self.describe(Self.errorQueueText()))")
    }

    /// OpenSSL's reason for a failed call, with what a user should check for the common ones.
    static func describe(_ reason: String) -> String {
        if reason.contains("certificate required") {
            return "the server requires a client certificate (\(reason)); give one with ssl_certfile and ssl_keyfile"
        }
        if reason.contains("wrong version number") || reason.contains("packet length too long") {
            return "the server does not speak TLS on this port (\(reason))"
        }
        if reason.contains("unknown ca") || reason.contains("bad certificate") {
            return "the server refused the client certificate (\(reason))"
        }
        return reason
    }

    /// The oldest error on this thread's OpenSSL error queue, which it then empties.
    static func errorQueueText() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown TLS error" }
        var buffer = [UInt8](repeating: 0, count: 256)
        buffer.withUnsafeMutableBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { ERR_error_string_n(code, $0.baseAddress, $0.count) }
        }
        // "error:0A000086:SSL routines::certificate verify failed" → the words after the last colon.
        let text = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        return text.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? text
    }

    private static func isAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}

/// One TLS session over a non-blocking socket, read and written by one thread at a time.
final class TLSStream: @unchecked Sendable {
    private let ssl: OpaquePointer
    let socket: Int32
    /// Why the last `read` or `write` failed, when OpenSSL said more than `errno` does.
    private(set) var lastError: String?

    fileprivate init(ssl: OpaquePointer, socket: Int32) {
        self.ssl = ssl
        self.socket = socket
    }

    deinit { SSL_free(ssl) }

    /// Writes what the session takes now, like a non-blocking `send`: the bytes written, or -1 with `errno` set
    /// (`EAGAIN` when it would block).
    func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard !bytes.isEmpty else { return 0 }
        ERR_clear_error()
        let result = SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
        if result > 0 { return Int(result) }
        return failed(result)
    }

    /// Reads like a non-blocking `recv`: the bytes read, 0 when the server closed the connection, or -1 with
    /// `errno` set (`EAGAIN` when nothing is there yet).
    ///
    /// - Parameter waitingMilliseconds: how long to wait for the first bytes when none are buffered.
    func read(into buffer: UnsafeMutableRawBufferPointer, waitingMilliseconds: Int = 0) -> Int {
        if waitingMilliseconds > 0, SSL_pending(ssl) == 0 {
            _ = Self.wait(socket, for: Int16(POLLIN), milliseconds: waitingMilliseconds)
        }
        ERR_clear_error()
        let result = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        if result > 0 { return Int(result) }
        if SSL_get_error(ssl, result) == SSL_ERROR_ZERO_RETURN { return 0 }
        return failed(result)
    }

    private func failed(_ result: Int32) -> Int {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            errno = EAGAIN
        case SSL_ERROR_SYSCALL:
            if errno == 0 { errno = ECONNRESET }
        default:
            lastError = TLSContext.describe(TLSContext.errorQueueText())
            errno = EPROTO
        }
        return -1
    }

    /// Waits until `socket` is ready for `events`; false on timeout.
    static func wait(_ socket: Int32, for events: Int16, milliseconds: Int) -> Bool {
        var descriptor = pollfd(fd: socket, events: events, revents: 0)
        while true {
            let ready = poll(&descriptor, 1, Int32(clamping: milliseconds))
            if ready < 0 && errno == EINTR { continue }
            return ready > 0
        }
    }
}

extension RedisConfiguration.Endpoint {
    /// The TCP host, for server-name indication and hostname checks.
    fileprivate var host: String? {
        if case .tcp(let host, _) = self { return host }
        return nil
    }
}
