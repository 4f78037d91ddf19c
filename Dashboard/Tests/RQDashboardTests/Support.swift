import Foundation
import RQ
import RQTesting
import Synchronization
import Testing

/// A child process whose output is collected; its exit is awaited without blocking a thread.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let output = Mutex("")
    private let exit = Mutex<Int32?>(nil)

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { self.output.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        process.terminationHandler = { process in self.exit.withLock { $0 = process.terminationStatus } }
        try process.run()
        LiveChildren.add(process)
    }

    /// What it printed so far (stdout and stderr).
    var log: String { output.withLock { $0 } }

    /// Waits for it to exit; returns its status, or `nil` if it still runs after `timeout`.
    func waitForExit(timeout: Duration) async throws -> Int32? {
        _ = try await eventually(timeout: timeout, every: .milliseconds(100)) { exit.withLock { $0 != nil } }
        return exit.withLock { $0 }
    }

    func terminate() { if process.isRunning { process.terminate() } }
}

/// The children still running when the test process exits (a test that failed half-way, leaving its app with a
/// long job) are killed then, so none outlives the tests.
enum LiveChildren {
    private static let processes = Mutex<[Process]>([])
    private static let installed = Mutex(false)

    static func add(_ process: Process) {
        processes.withLock { $0.append(process) }
        let first = installed.withLock { done in
            defer { done = true }
            return !done
        }
        if first {
            atexit {
                for process in LiveChildren.processes.withLock({ $0 }) where process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                }
            }
        }
    }
}

/// The example app (`rq-dashboard-swift`) running on a free loopback port against its own redis-server.
struct RunningApp {
    let server: RedisServer
    let redis: Redis
    let child: ChildProcess
    let base: String
    static let user = "admin"
    static let password = "s3cret pass"

    static func start(concurrency: Int = 2, environment: [String: String] = [:]) async throws -> RunningApp {
        let server = try await RedisServer.start()
        let child = try ChildProcess(
            builtExecutable("rq-dashboard-swift"), [],
            environment: [
                "RQ_REDIS_URL": server.url, "DASHBOARD_PORT": "0", "DASHBOARD_USER": user,
                "DASHBOARD_PASSWORD": password, "RQ_CONCURRENCY": String(concurrency),
            ].merging(environment) { $1 })
        var base: String?
        _ = try await eventually {
            if !child.process.isRunning { return true }
            guard let line = child.log.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") })
            else { return false }
            base = String(line.dropFirst("listening on ".count))
            return true
        }
        guard let base else {
            child.terminate()
            throw ChildFailure(description: "the app did not start: \(child.log)")
        }
        return RunningApp(server: server, redis: try server.makeClient(), child: child, base: base)
    }

    /// SIGTERM (a graceful shutdown of the server, the sampler and the pool), then the Redis server.
    func stop() async throws {
        child.terminate()
        let status = try await child.waitForExit(timeout: .seconds(60))
        await server.stop()
        #expect(status == 0, "the app exits 0 on SIGTERM: \(child.log.suffix(2000))")
    }
}

struct ChildFailure: Error, CustomStringConvertible {
    let description: String
}

/// HTTP requests as a script would make them, with curl: redirects are not followed, so a test sees the `303`.
/// (Not URLSession: on Linux it never returns a `401` that carries a `WWW-Authenticate` challenge.)
enum HTTP {
    struct Answer {
        let status: Int
        let body: String
        /// Header names lowercased.
        let headers: [String: String]
    }

    static func send(
        _ method: String, _ url: String, user: String? = nil, password: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> Answer {
        var arguments = ["curl", "--silent", "--show-error", "--include", "--max-time", "90", "-X", method]
        if let user, let password { arguments += ["--user", "\(user):\(password)"] }
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        let curl = try ChildProcess("/usr/bin/env", arguments + [url])
        let status = try await curl.waitForExit(timeout: .seconds(120))
        guard status == 0 else { throw ChildFailure(description: "curl \(url): \(curl.log)") }
        let text = curl.log
        guard let split = text.range(of: "\r\n\r\n") else {
            throw ChildFailure(description: "curl \(url): no header: \(text)")
        }
        let head = text[..<split.lowerBound].split(separator: "\r\n")
        var fields: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let code = head.first.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
        return Answer(status: code, body: String(text[split.upperBound...]), headers: fields)
    }

    /// A POST with the app's credentials.
    static func action(_ app: RunningApp, _ path: String, headers: [String: String] = [:]) async throws -> Answer {
        try await send(
            "POST", app.base + path, user: RunningApp.user, password: RunningApp.password, headers: headers)
    }
}

/// Headless Debian Chromium, as a person's browser: the page after its scripts ran, and screenshots.
enum Chromium {
    static let flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--virtual-time-budget=3000",
    ]

    /// The DOM of the page after it loaded.
    static func dom(_ url: String) async throws -> String {
        let chromium = try ChildProcess("/usr/bin/env", ["chromium"] + flags + ["--dump-dom", url])
        let status = try await chromium.waitForExit(timeout: .seconds(120))
        #expect(status == 0, "chromium --dump-dom \(url): \(chromium.log.suffix(2000))")
        return chromium.log
    }

    /// A PNG of the page, in `RQ_SCREENSHOT_DIR` (the docs' images are made so) or a temporary directory.
    @discardableResult
    static func screenshot(_ url: String, name: String, height: Int = 760) async throws -> Data {
        let directory =
            ProcessInfo.processInfo.environment["RQ_SCREENSHOT_DIR"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("rq-dashboard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent(name)
        let chromium = try ChildProcess(
            "/usr/bin/env",
            ["chromium"] + flags + ["--screenshot=\(file.path)", "--window-size=1200,\(height)", url])
        let status = try await chromium.waitForExit(timeout: .seconds(120))
        #expect(status == 0, "chromium --screenshot \(url): \(chromium.log.suffix(2000))")
        return try Data(contentsOf: file)
    }
}

/// A name no other test uses.
func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }
