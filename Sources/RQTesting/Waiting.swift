import Foundation

/// Checks `condition` every `interval` until it holds or `timeout` passes — how a test waits for a job, a worker or
/// a server to get somewhere, instead of sleeping a fixed time.
///
/// The default timeout is generous: a test waits this long only when something is wrong, and test suites run in
/// parallel on small, shared CI machines, where a worker process's start can take seconds.
///
/// ```swift
/// #expect(try await eventually { try await job.currentStatus() == .finished })
/// ```
///
/// - Parameters:
///   - timeout: how long to keep checking.
///   - interval: the pause between two checks.
///   - condition: the check; an error it throws ends the wait.
/// - Returns: whether the condition held before the time was up (it is checked once more at the end).
/// - Throws: what `condition` throws, or `CancellationError` if the task is cancelled while waiting.
public func eventually(
    timeout: Duration = .seconds(60), every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}

/// The path of an executable product built with the tests (`swift build --build-tests` puts it next to the test
/// bundle): a job runner for horses, a command line, an example app.
///
/// - Parameter name: the executable's name.
/// - Returns: its path in the build directory, or `name` itself (to be looked up on `PATH`) if it is not found there.
public func builtExecutable(_ name: String) -> String {
    let testBinary =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
    while directory.path != "/" {
        let candidate = directory.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return name
}
