import CRQShims
import FoundationEssentials
import Glibc

/// A horse: a job-runner process started with `posix_spawn`, in a process group of its own, that runs one job.
///
/// Horses are spawned ahead of time ("warm") so the spawn cost is off a job's critical path. Each remembers the
/// identity of the runner binary it was started from, so a rebuilt runner is noticed and the next job gets a fresh
/// horse running the new code.
final class Horse: Sendable {
    let process: SpawnedProcess
    let binary: FileIdentity?
    private let assignmentWrite: Int32
    private let reportRead: Int32

    /// Starts `runner --rq-horse`; it waits for its assignment on standard input.
    init(runner: String, environment: [String: String]) throws(SpawnError) {
        let assignment = try Pipe2()
        let report = try Pipe2()
        do {
            process = try SpawnedProcess(
                path: runner, arguments: [JobRunner.horseArgument],
                environment: environment,
                descriptors: [0: assignment.read, 1: 1, 2: 2, HorseProtocol.reportDescriptor: report.write],
                newProcessGroup: true)
        } catch {
            for fd in [assignment.read, assignment.write, report.read, report.write] { close(fd) }
            throw error
        }
        close(assignment.read)
        close(report.write)
        assignmentWrite = assignment.write
        reportRead = report.read
        binary = FileIdentity(path: runner)
    }

    /// The worker's environment, plus `RQ_WORKER_NAME` and `RQ_WORKER_PID` (a horse exits when its worker is gone);
    /// a crashing job's Swift backtrace is off unless `SWIFT_BACKTRACE` is set (the failure is recorded with its
    /// signal either way). Built once per worker, not per spawn.
    static func environment(workerName: String) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["RQ_WORKER_NAME"] = workerName
        environment["RQ_WORKER_PID"] = String(getpid())
        if environment["SWIFT_BACKTRACE"] == nil { environment["SWIFT_BACKTRACE"] = "enable=no" }
        return environment
    }

    /// Hands the horse its job and waits for its report.
    ///
    /// - Returns: the reported outcome, or nil with the raw `waitpid` status if the horse died without a complete
    ///   report. A horse that reported exits on its own and is reaped in the background: the worker records the
    ///   outcome without waiting for the process to be torn down.
    func run(_ assignment: [UInt8]) async -> (outcome: JobExecutor.Outcome?, status: Int32?) {
        let report: [UInt8] = await withCheckedContinuation { continuation in
            // Pipe I/O blocks: it runs on a thread of its own, never on the cooperative pool.
            BlockingThread.start(name: "rq-horse-io") { [assignmentWrite, reportRead] in
                _ = BlockingIO.writeAll(assignmentWrite, assignment)
                close(assignmentWrite)
                let bytes = BlockingIO.readToEnd(reportRead)
                close(reportRead)
                continuation.resume(returning: bytes)
            }
        }
        if let outcome = HorseProtocol.decodeReport(report) { return (outcome, nil) }
        return (nil, await process.waitForExit())
    }

    /// Lets an unused warm horse go: it reads end-of-file instead of a job and exits.
    func discard() {
        close(assignmentWrite)
        close(reportRead)
    }

    /// Signals the horse's whole process group (the horse and anything the job started).
    func kill(_ signal: Int32) { process.signal(signal, group: true) }
}

/// What identifies a file's content well enough to notice a rebuild: device, inode, size and modification time.
struct FileIdentity: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: Int64

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }
}
