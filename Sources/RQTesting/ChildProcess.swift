import Foundation
import Synchronization

/// A child process started with `posix_spawn`, reaped by `waitpid` on a thread of its own so that waiting never
/// blocks the Swift cooperative pool.
final class ChildProcess: Sendable {
    let pid: pid_t
    private let exitStatus = Mutex<Int32?>(nil)
    private let waiters = Mutex<[CheckedContinuation<Int32, Never>]>([])

    /// Starts `path` with `arguments`; standard input, output and error go to `/dev/null`.
    init(path: String, arguments: [String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in [Int32(0), 1, 2] {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        // Threads of this process may block signals; a child would inherit that mask and ignore SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptySet = sigset_t()
        sigemptyset(&emptySet)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &emptySet)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, path, &actions, &attributes, argv, environ)
        guard status == 0 else {
            throw RedisServer.StartError(description: "could not start \(path): \(String(cString: strerror(status)))")
        }
        pid = child
        LiveChildren.add(child)
        let spawned = child
        let reaper = Thread { [self] in
            var raw: Int32 = 0
            while waitpid(spawned, &raw, 0) < 0 && errno == EINTR {}
            LiveChildren.remove(spawned)
            let waiting = waiters.withLock { list in
                exitStatus.withLock { $0 = raw }
                defer { list.removeAll() }
                return list
            }
            for waiter in waiting { waiter.resume(returning: raw) }
        }
        reaper.start()
    }

    /// Whether the process has not exited yet.
    var isRunning: Bool { exitStatus.withLock { $0 == nil } }

    /// Sends a signal.
    func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits for the process to exit and returns its raw wait status.
    func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let done: Int32? = waiters.withLock { list in
                if let status = exitStatus.withLock({ $0 }) { return status }
                list.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }
}

/// The children still running, terminated when this process exits so no server outlives its tests.
enum LiveChildren {
    private static let pids = Mutex<Set<pid_t>>([])
    private static let installed = Mutex(false)

    static func add(_ pid: pid_t) {
        pids.withLock { _ = $0.insert(pid) }
        let first = installed.withLock { done in
            defer { done = true }
            return !done
        }
        if first { atexit { LiveChildren.terminateAll() } }
    }

    static func remove(_ pid: pid_t) {
        pids.withLock { _ = $0.remove(pid) }
    }

    static func terminateAll() {
        for pid in pids.withLock({ $0 }) { kill(pid, SIGTERM) }
    }
}
