import Foundation
@_spi(Processes) import RQ

/// A process started from a test (a worker or another command), its output kept in a file for assertions.
/// Started with the library's `posix_spawn` wrapper and reaped on a thread of its own.
final class CommandProcess: Sendable {
    let process: SpawnedProcess
    let output: URL

    /// - Parameter environment: added to this process's environment.
    init(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        output = FileManager.default.temporaryDirectory.appendingPathComponent("rq-cmd-\(UUID().uuidString).log")
        let fd = open(output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        process = try SpawnedProcess(
            path: path, arguments: arguments,
            environment: environment.isEmpty
                ? nil : ProcessInfo.processInfo.environment.merging(environment) { $1 },
            descriptors: [1: fd, 2: fd])
    }

    var pid: Int32 { process.pid }
    var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) { process.signal(signal) }

    /// Waits for the exit status; nil if the process did not exit in time.
    func waitForExit(timeout: Duration) async -> Int32? {
        guard await process.waitForExit(timeout: timeout), let raw = process.exitStatus else { return nil }
        return (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
    }
}
