import CoreMetrics
import Glibc
public import Prometheus
import RQ
import Synchronization

/// Serves swift-rq's metrics (and any other swift-metrics metric of the process) in the Prometheus text format at
/// `GET /metrics`, as `swift-rq worker --metrics-port` does.
///
/// A `WorkerPool` in a program of your own serves them the same way — bootstrap the metrics system once, before the
/// pool runs, and keep the endpoint while it does:
///
/// ```swift
/// let metrics = try PrometheusEndpoint.bootstrap(port: 9200)
/// defer { metrics.close() }
/// ```
///
/// The listener is a plain socket on a dedicated thread (never on the Swift cooperative pool): it answers one request
/// per connection, one connection at a time — a scrape, not a web server. A client gets 5 seconds to send its request.
/// Anything but `GET /metrics` gets 404.
public final class PrometheusEndpoint: Sendable {
    /// Where the metrics are collected.
    public let registry: PrometheusCollectorRegistry
    /// The port listened on (the one the system chose when 0 was asked for).
    public let port: Int
    private let listener: Listener

    /// The listening socket, shared with the thread.
    private final class Listener: Sendable {
        let socket: Int32
        let closed = Atomic(false)
        init(socket: Int32) { self.socket = socket }
    }

    /// Makes a registry, bootstraps swift-metrics with a `PrometheusMetricsFactory` over it, and serves it.
    /// `MetricsSystem.bootstrap` may be called only once in a process: call this once, or bootstrap yourself and use
    /// ``init(registry:port:bind:)``.
    ///
    /// - Parameters:
    ///   - port: the TCP port; 0 lets the system choose one (read it from ``port``).
    ///   - bind: the numeric address to listen on, IPv4 or IPv6; loopback by default.
    /// - Throws: ``RQError`` `invalidArgument` if the address is not numeric or cannot be listened on.
    public static func bootstrap(port: Int, bind: String = "127.0.0.1") throws -> PrometheusEndpoint {
        let registry = PrometheusCollectorRegistry()
        let endpoint = try PrometheusEndpoint(registry: registry, port: port, bind: bind)
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return endpoint
    }

    /// Serves `registry` at `http://bind:port/metrics` until ``close()``.
    ///
    /// - Throws: ``RQError`` `invalidArgument` if the address is not numeric or cannot be listened on.
    public init(registry: PrometheusCollectorRegistry, port: Int, bind: String = "127.0.0.1") throws {
        self.registry = registry
        let (socket, port) = try Self.listen(port: port, bind: bind)
        self.port = port
        let listener = Listener(socket: socket)
        self.listener = listener
        BlockingThread.start(name: "rq-metrics") {
            Self.serve(listener, registry: registry)
        }
    }

    /// Stops listening; a scrape being answered is finished first.
    public func close() {
        // Wakes the thread's `accept`, which then closes the socket.
        if !listener.closed.exchange(true, ordering: .sequentiallyConsistent) {
            Glibc.shutdown(listener.socket, Int32(SHUT_RDWR))
        }
    }

    deinit { close() }

    private static func listen(port: Int, bind: String) throws -> (Int32, Int) {
        guard (0...65_535).contains(port) else {
            throw RQError(.invalidArgument, "metrics port \(port) is not between 0 and 65535")
        }
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(bind, String(port), &hints, &found)
        guard status == 0, let address = found else {
            throw RQError(
                .invalidArgument,
                "metrics bind address '\(bind)' is not a numeric IP address: "
                    + String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(found) }
        let fd = Glibc.socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RQError(.invalidArgument, "metrics socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard Glibc.bind(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0, Glibc.listen(fd, 16) == 0
        else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw RQError(.invalidArgument, "cannot listen for metrics on \(bind) port \(port): \(message)")
        }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let actual = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int in
                guard getsockname(fd, pointer, &length) == 0 else { return port }
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    // sin_port and sin6_port sit at the same offset.
                    Int(UInt16(bigEndian: $0.pointee.sin_port))
                }
            }
        }
        return (fd, actual)
    }

    /// The thread's loop: accept, answer, close — until ``close()``.
    private static func serve(_ listener: Listener, registry: PrometheusCollectorRegistry) {
        while true {
            let client = accept(listener.socket, nil, nil)
            if client < 0 {
                if listener.closed.load(ordering: .sequentiallyConsistent) { break }
                // EINTR, ECONNABORTED; or out of descriptors for a moment: do not spin.
                if errno != EINTR, errno != ECONNABORTED { BlockingThread.sleep(seconds: 0.1) }
                continue
            }
            // (Glibc's `accept4` needs _GNU_SOURCE: close-on-exec is set just after; a horse spawned in between
            // would hold the connection open until it exits, nothing worse.)
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            answer(client, registry: registry)
            Glibc.close(client)
        }
        Glibc.close(listener.socket)
    }

    private static func answer(_ client: Int32, registry: PrometheusCollectorRegistry) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // Read the request head (up to 8 KB): closing with unread bytes would reset the connection under the answer.
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        while request.count < 8192, !request.ends(with: [13, 10, 13, 10]) {
            let count = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            request += chunk[..<count]
        }
        let requestLine = request.split(separator: 13, maxSplits: 1).first.map { String(decoding: $0, as: UTF8.self) }
        let parts = requestLine?.split(separator: " ") ?? []
        let path = parts.count >= 2 ? parts[1].split(separator: "?", omittingEmptySubsequences: false)[0] : ""
        let response: [UInt8]
        if parts.first == "GET", path == "/metrics" {
            let body = registry.emitToBuffer()
            response =
                Array(
                    ("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                        + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n").utf8) + body
        } else {
            let body = "Not found: the metrics are at /metrics\n"
            response = Array(
                ("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)").utf8)
        }
        var sent = 0
        while sent < response.count {
            let count = response.withUnsafeBytes {
                send(client, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return }
            sent += count
        }
        Glibc.shutdown(client, Int32(SHUT_WR))
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
