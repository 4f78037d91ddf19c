internal import CRQShims
import FoundationEssentials
import Glibc
import Synchronization

/// A child process started with `posix_spawn` — never `fork()`, which is unsafe in a multithreaded Swift
/// process — and reaped by `waitpid` on a thread of its own, so waiting never blocks the cooperative pool.
@_spi(Processes) public final class SpawnedProcess: Sendable {
    /// The process id (and, when started in a new group, the process group id).
    public let pid: Int32
    private let status = Mutex<Int32?>(nil)
    private let waiters = Mutex<[CheckedContinuation<Int32, Never>]>([])

    /// Starts `path`.
    ///
    /// - Parameters:
    ///   - descriptors: child fd → parent fd to `dup2` into it; child fds not named here among 0–2 get `/dev/null`.
    ///   - newProcessGroup: put the child in a process group of its own, so it can be killed with everything it
    ///     started and a terminal's Ctrl-C does not reach it.
    public init(
        path: String, arguments: [String], environment: [String: String]? = nil, descriptors: [Int32: Int32] = [:],
        newProcessGroup: Bool = false
    ) throws(SpawnError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 where descriptors[fd] == nil {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        for (child, parent) in descriptors { posix_spawn_file_actions_adddup2(&actions, parent, child) }
        // Descriptors other threads opened without close-on-exec (Foundation pipes, hiredis sockets) must not leak
        // into the child: a leaked pipe end keeps another process's reader from ever seeing end-of-file.
        rq_spawn_close_from(&actions, max(3, (descriptors.keys.max() ?? 2) + 1))

        // Threads of this process may block or ignore signals; the child must start with a clean slate, or it
        // would, for example, ignore the SIGTERM meant to stop it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGCHLD, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if newProcessGroup {
            flags |= POSIX_SPAWN_SETPGROUP
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let result: Int32
        if let environment {
            let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { envp.forEach { free($0) } }
            result = posix_spawn(&child, path, &actions, &attributes, argv, envp)
        } else {
            result = posix_spawn(&child, path, &actions, &attributes, argv, Glibc.environ)
        }
        guard result == 0 else {
            throw SpawnError(
                description: "could not start \(path): \(String(cString: strerror(result)))",
                isTextFileBusy: result == ETXTBSY)
        }
        pid = child
        startReaper()
    }

    private func startReaper() {
        BlockingThread.start(name: "rq-reaper") { [self] in
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
            let waiting = waiters.withLock { list in
                status.withLock { $0 = raw }
                defer { list.removeAll() }
                return list
            }
            for waiter in waiting { waiter.resume(returning: raw) }
        }
    }

    /// Whether the process has not been reaped yet.
    public var isRunning: Bool { status.withLock { $0 == nil } }

    /// The raw `waitpid` status once the process has exited.
    public var exitStatus: Int32? { status.withLock { $0 } }

    /// Sends a signal to the process, or to its whole process group.
    public func signal(_ signal: Int32, group: Bool = false) {
        guard isRunning else { return }
        if group { killpg(pid, signal) } else { kill(pid, signal) }
    }

    /// Waits for the process to exit and returns its raw `waitpid` status.
    public func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let done: Int32? = waiters.withLock { list in
                if let raw = status.withLock({ $0 }) { return raw }
                list.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// Waits at most `timeout` for the process to exit; returns whether it did.
    public func waitForExit(timeout: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while isRunning, clock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        return !isRunning
    }

    /// Describes a raw wait status as RQ does: `9 (signal 9)`.
    public static func describe(_ raw: Int32) -> String {
        let signaled = (raw & 0x7F) != 0 && (raw & 0x7F) != 0x7F
        return signaled ? "\(raw) (signal \(raw & 0x7F))" : "\(raw)"
    }
}

/// A process could not be started.
@_spi(Processes) public struct SpawnError: Error, CustomStringConvertible {
    public let description: String
    /// The executable is open for writing somewhere (being rebuilt): trying again shortly usually works.
    public var isTextFileBusy = false

    public init(description: String, isTextFileBusy: Bool = false) {
        self.description = description
        self.isTextFileBusy = isTextFileBusy
    }
}

/// Both ends of a pipe, close-on-exec so that no other child inherits them.
struct Pipe2 {
    let read: Int32
    let write: Int32

    init() throws(SpawnError) {
        var fds: [Int32] = [0, 0]
        guard rq_pipe_cloexec(&fds) == 0 else {
            throw SpawnError(description: "pipe2 failed: \(String(cString: strerror(errno)))")
        }
        read = fds[0]
        write = fds[1]
    }
}

/// Blocking file-descriptor I/O, for dedicated threads only.
package enum BlockingIO {
    package static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBufferPointer { buffer in
                Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    /// Reads exactly `count` bytes; nil at end of input or on an error before they all came.
    package static func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var output = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let read = output.withUnsafeMutableBufferPointer {
                Glibc.read(fd, $0.baseAddress! + offset, count - offset)
            }
            if read < 0 && errno == EINTR { continue }
            if read <= 0 { return nil }
            offset += read
        }
        return output
    }

    /// A frame of a reusable horse's channels: a 4-byte big-endian length, then that many bytes.
    package static func frame(_ payload: [UInt8]) -> [UInt8] {
        let length = UInt32(payload.count)
        return [UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)]
            + payload
    }

    /// Reads one frame (see ``frame(_:)``); nil at end of input, on an error, or for a frame over `limit` bytes.
    package static func readFrame(_ fd: Int32, limit: Int = 256 << 20) -> [UInt8]? {
        guard let header = readExactly(fd, 4) else { return nil }
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length <= limit else { return nil }
        return length == 0 ? [] : readExactly(fd, length)
    }

    package static func readToEnd(_ fd: Int32, limit: Int = 256 << 20) -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while output.count < limit {
            let count = chunk.withUnsafeMutableBufferPointer { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                break
            }
            if count == 0 { break }
            output.append(contentsOf: chunk[0..<count])
        }
        return output
    }
}
