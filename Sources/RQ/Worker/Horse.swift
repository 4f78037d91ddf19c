import CRQShims
import FoundationEssentials
import Glibc
import Synchronization

/// A horse: a job-runner process started with `posix_spawn`, in a process group of its own, that runs one job — or,
/// if reusable (`WorkerPoolConfiguration/maxJobsPerHorse` above 1), several, one after another.
///
/// A one-job horse reads its assignment to the end of its standard input and writes its report to the end of its
/// report channel. A reusable one exchanges frames (a 4-byte length, then the bytes) on both, and exits when its
/// standard input ends: the worker closes it to retire the horse.
///
/// Horses are spawned ahead of time ("warm") so the spawn cost is off a job's critical path. Each remembers the
/// identity of the runner binary it was started from, so a rebuilt runner is noticed and the next job gets a fresh
/// horse running the new code.
final class Horse: Sendable {
    let process: SpawnedProcess
    let binary: FileIdentity?
    /// When it was spawned (what the worker's `swift_horses` field shows for a warm horse).
    let spawnedAt = Date()
    /// Serves several jobs, exchanging frames.
    let isReusable: Bool
    private let assignmentWrite: Int32
    /// Whether `assignmentWrite` is still open: it is closed once, whoever gets there first.
    private let inputOpen = Mutex(true)
    /// Reports read by a thread started with the horse (nil: the channel ended), and the run waiting for the next.
    private let reports = Mutex<(ready: [[UInt8]?], waiter: CheckedContinuation<[UInt8]?, Never>?, served: Int)>(
        ([], nil, 0))

    /// The argument that makes a horse reusable, after ``JobRunner/horseArgument``.
    static let reusableArgument = "--reusable"

    /// Starts `runner --rq-horse` (with `--reusable` for a reusable horse); it waits for its assignment on standard
    /// input.
    init(runner: String, environment: [String: String], reusable: Bool = false) throws(SpawnError) {
        let assignment = try Pipe2()
        let report = try Pipe2()
        isReusable = reusable
        do {
            process = try SpawnedProcess(
                path: runner, arguments: [JobRunner.horseArgument] + (reusable ? [Self.reusableArgument] : []),
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
        // The report reader starts with the horse, so no thread is created on a job's critical path. A one-job
        // horse's report ends at end-of-file: the horse closes its report channel once the report is written (or
        // dies, or is let go). A reusable horse's come as frames until the channel ends.
        let reportRead = report.read
        BlockingThread.start(name: "rq-horse-io") { [self] in
            if reusable {
                while let frame = BlockingIO.readFrame(reportRead) { self.deliver(frame) }
                self.deliver(nil)
            } else {
                self.deliver(BlockingIO.readToEnd(reportRead))
            }
            close(reportRead)
        }
    }

    /// Hands a report (nil: the channel ended) to the run waiting for it, or keeps it for the next.
    private func deliver(_ bytes: [UInt8]?) {
        let waiter = reports.withLock { state -> CheckedContinuation<[UInt8]?, Never>? in
            guard let waiter = state.waiter else {
                state.ready.append(bytes)
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: bytes)
    }

    /// How many jobs this horse has been given.
    var jobsServed: Int { reports.withLock { $0.served } }

    /// Whether the next assignment must say where Redis is: always for a one-job horse; for a reusable one, only
    /// with its first job (it keeps its client).
    var needsRedisConfiguration: Bool { !isReusable || jobsServed == 0 }

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
        reports.withLock { $0.served += 1 }
        sendAssignment(isReusable ? BlockingIO.frame(assignment) : assignment)
        let bytes: [UInt8]? = await withCheckedContinuation { continuation in
            let ready = reports.withLock { state -> [UInt8]?? in
                if !state.ready.isEmpty { return state.ready.removeFirst() }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        if let bytes, let outcome = HorseProtocol.decodeReport(bytes) { return (outcome, nil) }
        return (nil, await process.waitForExit())
    }

    /// Writes the assignment and, for a one-job horse, closes the horse's standard input. A pipe holds 64 KiB, so
    /// the write normally completes at once without blocking; a larger assignment is finished by a thread of its own.
    private func sendAssignment(_ assignment: [UInt8]) {
        let descriptor = assignmentWrite
        let flags = fcntl(descriptor, F_GETFL) & ~O_NONBLOCK
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
        let reusable = isReusable
        if written == assignment.count {
            if !reusable { closeInput() }
            return
        }
        _ = fcntl(descriptor, F_SETFL, flags)
        let rest = Array(assignment[written...])
        // (A reusable horse's next assignment comes only after this one's report, so writes never overlap.)
        BlockingThread.start(name: "rq-horse-in") {
            _ = BlockingIO.writeAll(descriptor, rest)
            if !reusable { self.closeInput() }
        }
    }

    /// Lets a horse go: an unused warm one reads end-of-file instead of a job, a reusable one instead of its next
    /// job, and exits (and its report reader with it). Safe to call more than once, and after a one-job horse's
    /// input was closed with its assignment.
    func discard() { closeInput() }

    private func closeInput() {
        let open = inputOpen.withLock { open in
            defer { open = false }
            return open
        }
        if open { close(assignmentWrite) }
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
