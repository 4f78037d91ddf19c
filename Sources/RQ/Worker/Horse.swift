import CRQShims
import FoundationEssentials
import Glibc
import Synchronization

/// A horse: a job-runner process started with `posix_spawn`, in a process group of its own, that runs one job.
///
/// Horses are spawned ahead of time ("warm") so the spawn cost is off a job's critical path. Each remembers the
/// identity of the runner binary it was started from, so a rebuilt runner is noticed and the next job gets a fresh
/// horse running the new code.
final class Horse: Sendable {
    let process: SpawnedProcess
    let binary: FileIdentity?
    private let assignmentWrite: Int32
    /// The report, read by a thread started with the horse, and the run waiting for it.
    private let report = Mutex<(bytes: [UInt8]?, waiter: CheckedContinuation<[UInt8], Never>?)>((nil, nil))

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
        binary = FileIdentity(path: runner)
        // The report reader starts with the horse, so no thread is created on a job's critical path. It waits for
        // end-of-file: the horse closes its report channel once the report is written (or dies, or is let go).
        let reportRead = report.read
        BlockingThread.start(name: "rq-horse-io") { [self] in
            let bytes = BlockingIO.readToEnd(reportRead)
            close(reportRead)
            let waiter = self.report.withLock { state in
                state.bytes = bytes
                return state.waiter
            }
            waiter?.resume(returning: bytes)
        }
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
        sendAssignment(assignment)
        let bytes: [UInt8] = await withCheckedContinuation { continuation in
            let ready = report.withLock { state -> [UInt8]? in
                if let bytes = state.bytes { return bytes }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        if let outcome = HorseProtocol.decodeReport(bytes) { return (outcome, nil) }
        return (nil, await process.waitForExit())
    }

    /// Writes the assignment and closes the horse's standard input. A pipe holds 64 KiB, so the write normally
    /// completes at once without blocking; a larger assignment is finished by a thread of its own.
    private func sendAssignment(_ assignment: [UInt8]) {
        let descriptor = assignmentWrite
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        var written = 0
        while written < assignment.count {
            let count = assignment.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count > 0 {
                written += count
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        if written == assignment.count {
            close(descriptor)
            return
        }
        _ = fcntl(descriptor, F_SETFL, flags)
        let rest = Array(assignment[written...])
        BlockingThread.start(name: "rq-horse-in") {
            _ = BlockingIO.writeAll(descriptor, rest)
            close(descriptor)
        }
    }

    /// Lets an unused warm horse go: it reads end-of-file instead of a job and exits (and its report reader with it).
    func discard() {
        close(assignmentWrite)
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
