import ArgumentParser
import FoundationEssentials
import Glibc
import Logging
import RQ

/// `rq info [QUEUES…]`: queue sizes and workers, with the content and look of Python RQ's monitor.
struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show queues and workers (RQ's command-line monitor).")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var classes: ClientClassOptions

    @Option(name: [.short, .long], help: "Refresh every N seconds, in place (default: print once).")
    var interval: Double?

    @Flag(name: [.short, .long], help: "Print only the raw numbers, no bar charts.")
    var raw = false

    @Flag(name: [.customShort("Q"), .long], help: "Show only queue info.")
    var onlyQueues = false

    @Flag(name: [.customShort("W"), .long], help: "Show only worker info.")
    var onlyWorkers = false

    @Flag(name: [.customShort("R"), .long], help: "Show workers by queue.")
    var byQueue = false

    @Argument(help: "Queues to show (default: all).")
    var queues: [String] = []

    func validate() throws {
        if let interval, interval <= 0 { throw ValidationError("--interval must be positive") }
    }

    func run() async throws {
        let redis = try connection.makeRedis()
        try await reportingRedisErrors {
            let names = queues.isEmpty ? try await Queue.allNames(redis: redis) : queues
            // Python's rq info cleans registries and prunes dead workers first; so does this one.
            let maintenance = RegistryMaintenance(redis: redis, logger: Logger(label: "rq.info"))
            await maintenance.cleanWithoutLock(queues: names)
            let style = TerminalStyle(enabled: isatty(STDOUT_FILENO) == 1)
            while true {
                var output = ""
                if interval != nil && style.enabled { output += "\u{1B}[2J\u{1B}[H" }
                output += try await render(names, redis: redis, style: style)
                writeStandardOutput(output)
                guard let interval else { break }
                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            }
        }
    }

    func render(_ names: [String], redis: Redis, style: TerminalStyle) async throws -> String {
        var lines: [String] = []
        if !onlyWorkers { lines += try await queueLines(names, redis: redis, style: style) }
        if !onlyQueues && !onlyWorkers && !raw { lines.append("") }
        if !onlyQueues { lines += try await workerLines(names, redis: redis, style: style) }
        if !onlyQueues && !onlyWorkers && !raw {
            lines.append("")
            lines.append("Updated: \(Self.localTimestamp())")
        }
        return lines.map { $0 + "\n" }.joined()
    }

    private func queueLines(_ names: [String], redis: Redis, style: TerminalStyle) async throws -> [String] {
        let counts = try await Queue.counts(of: names, redis: redis)
        let maxCount = counts.map(\.queued).max() ?? 0
        let scale = [20, 50, 100, 200, 400, 600, 800, 1000].first { maxCount <= $0 } ?? maxCount
        let chartWidth = min(20, TerminalStyle.columns - 20)
        let ratio = Double(chartWidth) / Double(max(scale, 1))
        var lines: [String] = []
        var total = 0
        for (index, name) in names.enumerated() {
            let count = counts[index].queued
            let numbers =
                "\(count), \(counts[index].started) executing, \(counts[index].finished) finished, "
                + "\(counts[index].failed) failed"
            if raw {
                lines.append("queue \(name) \(numbers)")
            } else {
                let chart = style.green("|" + String(repeating: "█", count: Int(ratio * Double(count))))
                lines.append(
                    "\(name.padded(to: 12)) \(chart) \(numbers)")
            }
            total += count
        }
        if !raw { lines.append("\(names.count) queues, \(total) jobs total") }
        return lines
    }

    private func workerLines(_ names: [String], redis: Redis, style: TerminalStyle) async throws -> [String] {
        var workersByQueue: [String: [WorkerInfo]] = [:]
        var all: [String: WorkerInfo] = [:]
        for queue in names.isEmpty ? [nil] : names.map(Optional.some) {
            let found = try await Worker.all(redis: redis, queue: queue).map(WorkerInfo.init)
            for worker in found { all[worker.name] = worker }
            if let queue { workersByQueue[queue] = found }
        }
        var lines: [String] = []
        if byQueue {
            let width = (names.map(\.count).max() ?? 0) + 1
            for name in names {
                let workers = workersByQueue[name] ?? []
                let text =
                    workers.isEmpty
                    ? "–" : workers.map { "\($0.name) (\(style.state($0.state)))" }.sorted().joined(separator: ", ")
                lines.append("\((name + ":").padded(to: width)) \(text)")
            }
        } else {
            for worker in all.values.sorted(by: { $0.name < $1.name }) {
                let identity = "\(worker.name) (\(worker.hostname) \(worker.ipAddress) \(worker.pid))"
                let jobs = "jobs: \(worker.successful) finished, \(worker.failed) failed"
                if raw {
                    lines.append("worker \(identity) \(worker.state) \(worker.queues). \(jobs)")
                } else {
                    lines.append("\(identity): \(style.state(worker.state)) \(worker.queues). \(jobs)")
                }
            }
        }
        if !raw { lines.append("\(all.count) workers, \(names.count) queues") }
        return lines
    }

    /// Python's `str(datetime.now())`: local time with microseconds.
    static func localTimestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        localtime_r(&seconds, &parts)
        let date = [Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday)]
        let time = [Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec)]
        let day = [String.zeroPadded(date[0], 4), String.zeroPadded(date[1], 2), String.zeroPadded(date[2], 2)]
        let clock = time.map { String.zeroPadded($0, 2) }.joined(separator: ":")
        return day.joined(separator: "-") + " " + clock + "." + String.zeroPadded(now.tv_nsec / 1000, 6)
    }
}

/// The fields of a worker hash that `rq info` shows; missing fields read as Python reads them.
struct WorkerInfo {
    let name: String
    let hostname: String
    let ipAddress: String
    let pid: String
    let state: String
    let queues: String
    let successful: Int
    let failed: Int

    init(_ worker: Worker) {
        name = worker.name
        hostname = worker.hostname ?? "None"
        ipAddress = worker.ipAddress ?? "None"
        pid = worker.pid.map(String.init) ?? "None"
        state = worker.state
        queues = worker.queues.joined(separator: ", ")
        successful = worker.successfulJobCount
        failed = worker.failedJobCount
    }
}

/// ANSI colours as click uses them, only on a terminal.
struct TerminalStyle {
    let enabled: Bool

    func color(_ text: String, _ code: Int) -> String { enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    func green(_ text: String) -> String { color(text, 32) }

    func state(_ state: String) -> String {
        switch state {
        case "busy": return color(state, 31)
        case "idle": return color(state, 32)
        case "suspended": return color(state, 33)
        default: return state
        }
    }

    /// The terminal width: the window size, else `$COLUMNS`, else 80 (Python's fallback).
    static var columns: Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init) ?? 80
    }
}
