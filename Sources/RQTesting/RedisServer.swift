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

    /// The TCP port it listens on (127.0.0.1).
    public let port: Int
    /// `redis://127.0.0.1:{port}/0`.
    public var url: String { "redis://127.0.0.1:\(port)/0" }
    private let executable: String
    private let extraArguments: [String]
    private let process: Mutex<SpawnedProcess?>

    private init(port: Int, executable: String, extraArguments: [String]) {
        self.port = port
        self.executable = executable
        self.extraArguments = extraArguments
        self.process = Mutex(nil)
    }

    deinit { process.withLock { $0?.signal(SIGTERM) } }

    /// Starts a server on a free port.
    ///
    /// - Parameters:
    ///   - executable: the server binary, found on `PATH` unless it contains a `/`.
    ///   - arguments: extra `redis-server` options, e.g. `["--requirepass", "secret"]`.
    /// - Throws: ``StartError`` if the binary is missing or the server does not answer within 10 seconds.
    public static func start(executable: String = "redis-server", arguments: [String] = []) async throws -> RedisServer
    {
        var lastError: (any Error)?
        for _ in 0..<5 {
            let server = RedisServer(port: try freePort(), executable: executable, extraArguments: arguments)
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
        try Redis(url: "redis://127.0.0.1:\(port)/\(database)")
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
        let child = try SpawnedProcess(
            path: path,
            arguments: [
                "--port", String(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--appendonly",
                "no", "--protected-mode", "no", "--loglevel", "warning",
            ] + extraArguments)
        LiveChildren.add(child)
        process.withLock { $0 = child }
        let probe = try Redis(url: "redis://127.0.0.1:\(port)/0")
        defer { Task { await probe.close() } }
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            if !child.isRunning {
                throw StartError(description: "redis-server exited at start on port \(port) (is the port taken?)")
            }
            do {
                if try await probe.send("PING").string == "PONG" { return }
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

    /// A port the kernel just handed out for 127.0.0.1 and that is free again.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw StartError(description: "bind() failed: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw StartError(description: "getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
