import Foundation
@_spi(Processes) public import RQ
import Synchronization

/// A throwaway `redis-server` for tests and demos: started from `PATH` on a free loopback port, with no
/// persistence, ready once it answers `PING`, stopped by ``stop()`` or when the value is released.
///
/// ```swift
/// let server = try await RedisServer.start()
/// let redis = try server.makeClient()
/// // …
/// await server.stop()
/// ```
public final class RedisServer: Sendable {
    /// Why a server could not be started.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The files of a server that speaks TLS only (`--port 0 --tls-port`), PEM, and the client's.
    public struct TLSFiles: Sendable {
        /// The CA that signed the server's (and the client's) certificate.
        public var caCertificate: String
        public var serverCertificate: String
        public var serverKey: String
        /// Whether the server requires clients to present a certificate signed by the CA (`--tls-auth-clients`).
        public var requireClientCertificates: Bool
        /// The certificate the tests' own clients present, if any.
        public var clientCertificate: String?
        public var clientKey: String?
        /// Whether the tests' own clients check that the server's certificate names 127.0.0.1.
        public var clientChecksHostname = true

        public init(
            caCertificate: String, serverCertificate: String, serverKey: String,
            requireClientCertificates: Bool = false,
            clientCertificate: String? = nil, clientKey: String? = nil
        ) {
            self.caCertificate = caCertificate
            self.serverCertificate = serverCertificate
            self.serverKey = serverKey
            self.requireClientCertificates = requireClientCertificates
            self.clientCertificate = clientCertificate
            self.clientKey = clientKey
        }
    }

    /// The TCP port it listens on (127.0.0.1).
    public let port: Int
    /// The TLS files, for a server that speaks TLS only.
    public let tls: TLSFiles?
    /// `redis://127.0.0.1:{port}/0`, or for a TLS server `rediss://127.0.0.1:{port}/0?ssl_ca_certs=…` (with the
    /// client certificate, if any).
    public var url: String {
        guard let tls else { return "redis://127.0.0.1:\(port)/0" }
        var url = "rediss://127.0.0.1:\(port)/0?ssl_ca_certs=\(tls.caCertificate)"
        if let certificate = tls.clientCertificate { url += "&ssl_certfile=\(certificate)" }
        if let key = tls.clientKey { url += "&ssl_keyfile=\(key)" }
        if !tls.clientChecksHostname { url += "&ssl_check_hostname=false" }
        return url
    }
    private let executable: String
    private let extraArguments: [String]
    private let process: Mutex<SpawnedProcess?>

    private init(port: Int, executable: String, extraArguments: [String], tls: TLSFiles?) {
        self.port = port
        self.executable = executable
        self.extraArguments = extraArguments
        self.tls = tls
        self.process = Mutex(nil)
    }

    deinit { process.withLock { $0?.signal(SIGTERM) } }

    /// Starts a server on a free port.
    ///
    /// - Parameters:
    ///   - executable: the server binary, found on `PATH` unless it contains a `/`.
    ///   - arguments: extra `redis-server` options, e.g. `["--requirepass", "secret"]`.
    ///   - tls: serve TLS only, with these files (the server needs Redis built with TLS, as Debian's is).
    /// - Throws: ``StartError`` if the binary is missing or the server does not answer within 10 seconds.
    public static func start(
        executable: String = "redis-server", arguments: [String] = [], tls: TLSFiles? = nil
    ) async throws -> RedisServer {
        var lastError: (any Error)?
        for _ in 0..<5 {
            let server = RedisServer(
                port: try freePort(), executable: executable, extraArguments: arguments, tls: tls)
            do {
                try await server.launch()
                return server
            } catch {
                lastError = error
                await server.stop()
            }
        }
        throw lastError ?? StartError(description: "redis-server did not start")
    }

    /// A client for this server.
    public func makeClient(database: Int = 0) throws -> Redis {
        var configuration = try RedisConfiguration(url: url)
        configuration.database = database
        return Redis(configuration: configuration)
    }

    /// Whether the server process is running.
    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    /// Sends a signal to the server process, e.g. `SIGSTOP` and `SIGCONT` to make it stop and resume answering.
    public func signal(_ signal: Int32) {
        process.withLock { $0?.signal(signal) }
    }

    /// Stops the server: SIGTERM, then waits for it to exit. Safe to call twice.
    public func stop() async {
        let running = process.withLock { current -> SpawnedProcess? in
            defer { current = nil }
            return current
        }
        guard let running else { return }
        running.signal(SIGTERM)
        _ = await running.waitForExit()
        LiveChildren.remove(running)
    }

    /// Starts the server again on the same port after ``stop()``, e.g. to test reconnecting.
    public func restart() async throws {
        await stop()
        try await launch()
    }

    private func launch() async throws {
        let path = try Self.resolve(executable)
        // An empty working directory of its own: a dump.rdb where the tests run must not be loaded.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rq-redis-\(port)").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var listening = ["--port", String(port)]
        if let tls {
            listening = [
                "--port", "0", "--tls-port", String(port), "--tls-cert-file", tls.serverCertificate, "--tls-key-file",
                tls.serverKey, "--tls-ca-cert-file", tls.caCertificate, "--tls-auth-clients",
                tls.requireClientCertificates ? "yes" : "no",
            ]
        }
        let child = try SpawnedProcess(
            path: path,
            arguments: listening + [
                "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--appendonly", "no", "--protected-mode", "no",
                "--loglevel", "warning",
            ] + extraArguments)
        LiveChildren.add(child)
        process.withLock { $0 = child }
        let probe = try makeClient()
        defer { Task { await probe.close() } }
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            if !child.isRunning {
                throw StartError(description: "redis-server exited at start on port \(port) (is the port taken?)")
            }
            do {
                if try await probe.send("PING").string == "PONG" {
                    // The server that answers must be this one: another on the same port (a test that took it while
                    // this one was down) would otherwise be used, and stopped, as if it were this test's own.
                    let info = try await probe.send("INFO", "server").string ?? ""
                    let pid = Self.infoField("process_id", in: info).flatMap { Int32($0) }
                    guard pid == child.pid else {
                        child.signal(SIGTERM)
                        throw StartError(
                            description:
                                "port \(port) is served by another redis-server (pid \(pid.map(String.init) ?? "?"))")
                    }
                    return
                }
            } catch let error as StartError {
                throw error
            } catch let error as RedisError where error.code == .server && !error.message.contains("LOADING") {
                return  // NOAUTH and the like: the server is up and asks for a password.
            } catch {}
            try await Task.sleep(for: .milliseconds(20))
        }
        throw StartError(description: "redis-server on port \(port) did not answer PING within 10 seconds")
    }

    private static func resolve(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(
            separator: ":")
        for directory in paths {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw StartError(
            description: "\(executable) not found on PATH; install it (Debian: apt-get install redis-server)")
    }

    /// The value of one field of an `INFO` reply (its `name:value` lines), or nil if the reply has none.
    public static func infoField(_ name: String, in info: String) -> String? {
        let prefix = name + ":"
        return info.split(whereSeparator: \.isNewline).first { $0.hasPrefix(prefix) }
            .map { $0.dropFirst(prefix.count).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// The ports this process has handed out: each only once, so the port of a server stopped to be restarted there
    /// (an outage test) is never another test's meanwhile.
    private static let handedOut = Mutex<Set<Int>>([])

    /// A free loopback port for a server a test starts, or for a test that needs a port nothing listens on: one this
    /// process never handed out before, and outside the kernel's ephemeral range (`ip_local_port_range`), so no
    /// outgoing connection takes it as its own port while its server is down — a client reconnecting to a stopped
    /// server on an ephemeral port can even be connected to itself.
    public static func freePort() throws -> Int {
        for _ in 0..<1000 {
            let port = Int.random(in: portRange)
            guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
            if isFree(port) { return port }
        }
        throw StartError(description: "no free port in \(portRange)")
    }

    /// Ports below the ephemeral range (32768–60999 by default), else above it.
    static let portRange: ClosedRange<Int> = {
        let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
        let bounds = (text ?? "").split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        let (low, high) = bounds.count == 2 ? (bounds[0], bounds[1]) : (32768, 60999)
        if low > 12000 { return 10000...(low - 1) }
        if high < 63000 { return (high + 1)...65535 }
        return 10000...65535
    }()

    /// Whether a listening socket could be bound to the port on 127.0.0.1 now.
    private static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
