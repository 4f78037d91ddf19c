import Foundation
import RQ
import RQTesting
import Testing

/// A value made once per test process, by the first caller; every caller gets that one value.
actor Once<Value: Sendable> {
    // A task, not the value itself: the actor is reentrant across the await, and every caller must get what the
    // first caller started.
    private var making: Task<Value, any Error>?
    private let make: @Sendable () async throws -> Value

    init(_ make: @escaping @Sendable () async throws -> Value) { self.make = make }

    func value() async throws -> Value {
        if let making { return try await making.value }
        let task = Task { try await make() }
        making = task
        return try await task.value
    }
}

/// One throwaway redis-server for the whole test process; tests keep apart by using their own queue names.
enum SharedRedis {
    static let instance = Once { try await RedisServer.start() }

    static func server() async throws -> RedisServer { try await instance.value() }
    static func client() async throws -> Redis { try await server().makeClient() }
}

/// A queue name no other test uses.
func uniqueName(_ prefix: String = "q") -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

enum PythonError: Error, CustomStringConvertible {
    case failed(status: Int32, stderr: String)
    var description: String {
        switch self {
        case .failed(let status, let stderr): return "python exited \(status): \(stderr)"
        }
    }
}

/// Runs real Python RQ 2.12 (installed by the project's scripts).
enum Python {
    /// The folder with `examples.py`, the Python twins of the example job functions.
    static let modulePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Python")
        .path

    /// Runs a Python script with `REDIS_URL` set and returns what it printed, parsed as JSON.
    /// The script has `r` (a redis-py client), `Queue`, `Job` and `JSONSerializer` in scope.
    static func run(_ script: String, url: String) async throws -> JSONValue {
        let prelude = """
            import json, os, sys
            from redis import Redis
            from rq import Queue
            from rq.job import Job, Dependency
            from rq.serializers import JSONSerializer
            r = Redis.from_url(os.environ['REDIS_URL'])

            """
        let output = try await execute(["python3", "-c", prelude + script], url: url)
        return try JSONValue(parsing: output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Starts a long-running `rq worker -S json` (Python) on the queues, with the example twins importable.
    static func startWorker(queues: [String], url: String, extra: [String] = []) throws -> CommandProcess {
        try CommandProcess(
            "/usr/bin/env",
            ["PYTHONPATH=\(modulePath)", "python3", "-m", "rq.cli", "worker", "-S", "json", "-u", url] + extra + queues)
    }

    /// Runs `rq worker -S json --burst` on the queues, with the Python example twins importable.
    static func burstWorker(queues: [String], url: String, extra: [String] = []) async throws {
        _ = try await execute(
            ["python3", "-m", "rq.cli", "worker", "-S", "json", "--burst", "-u", url] + extra + queues, url: url)
    }

    static func execute(_ arguments: [String], url: String) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["REDIS_URL"] = url
        environment["PYTHONPATH"] = modulePath + ":" + (environment["PYTHONPATH"] ?? "")
        process.environment = environment
        let stdout = Pipe()
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("rq-python-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        let stderr = try FileHandle(forWritingTo: errorFile)
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        // Wait on a thread of its own: reading the pipe and waitpid block, which the cooperative pool must not.
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                defer {
                    try? stderr.close()
                    try? FileManager.default.removeItem(at: errorFile)
                }
                do {
                    try process.run()
                    let out = stdout.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    if process.terminationStatus != 0 {
                        let err =
                            ((try? String(contentsOf: errorFile, encoding: .utf8)) ?? "")
                            + String(decoding: out, as: UTF8.self)
                        continuation.resume(
                            throwing: PythonError.failed(status: process.terminationStatus, stderr: err))
                    } else {
                        continuation.resume(returning: String(decoding: out, as: UTF8.self))
                    }
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
