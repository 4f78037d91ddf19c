import CRQShims
import FoundationEssentials
import Glibc
import Logging
import Synchronization

/// Counts the batches written to Redis by this process (each batch is one round trip), for benchmarks.
@_spi(Benchmarks) public enum RedisRoundTrips {
    private static let counter = Atomic<Int>(0)
    /// Round trips made so far.
    public static var count: Int { counter.load(ordering: .relaxed) }
    static func record() { counter.add(1, ordering: .relaxed) }
}

/// One connection to Redis, with a thread of its own that carries out what its ``ConnectionStateMachine`` decides.
///
/// `execute` never blocks: it hands a batch of encoded commands to the state machine and suspends. When the
/// connection is idle the machine lets the caller write its batch itself with a non-blocking `send`, so a lone
/// request costs no thread handoff on the way out; otherwise batches gather and the connection's thread writes them
/// together once the batch on the wire is answered (automatic pipelining). The thread waits for replies in a
/// blocking `recv` (in `poll` on the socket and a wake-up pipe while nothing is in flight), feeds them to hiredis'
/// reply parser, and resumes each caller with its replies in order. Connecting (hiredis' blocking connect, TLS and
/// the AUTH/SELECT handshake) happens on that thread too: no blocking call ever runs on the Swift cooperative pool.
///
/// A broken connection fails the commands in flight with ``RedisError/Code/connectionLost``, one that does not
/// answer in time with ``RedisError/Code/timeout``; the next batch reconnects, retrying with exponential backoff
/// until the connect timeout. The very first connection is tried once, so an unreachable server is reported at once.
/// A persistent connection (a subscriber) reconnects for ever and hands every reply to its push handler.
final class RedisConnection: Sendable {
    /// Opens a connection — connect, TLS, handshake — within the timeout; blocking, on the connection's thread.
    typealias Opener = @Sendable (Duration) throws(RedisError) -> (HiredisContext, Transport)

    private let core: Core

    /// Creates the connection; its thread starts with the first command, which also opens the socket (a horse
    /// whose job never touches Redis starts no thread for it).
    ///
    /// - Parameters:
    ///   - interruptible: a blocking command in flight is interrupted when its task is cancelled.
    ///   - opener: how to open it; by default ``TransportOpener`` for the configuration.
    ///   - onOpen: called on the connection's thread after each connection is opened.
    init(
        configuration: RedisConfiguration, interruptible: Bool, logger: Logger, opener: Opener? = nil,
        onOpen: (@Sendable () -> Void)? = nil
    ) {
        let open: Opener
        if let opener {
            open = opener
        } else {
            let transportOpener = TransportOpener(configuration: configuration)
            open = { timeout throws(RedisError) in try transportOpener.open(timeout: timeout) }
        }
        core = Core(
            configuration: configuration,
            options: .init(
                commandTimeout: configuration.commandTimeout, connectTimeout: configuration.connectTimeout,
                interruptible: interruptible, threadWritesOnly: configuration.tls != nil,
                readOnlyDropsConnection: configuration.sentinel != nil),
            open: open, onOpen: onOpen, onPushes: nil, logger: logger)
    }

    /// A persistent connection: it connects at once, reconnects for ever (with ``Backoff/outage``), and hands every
    /// reply to `onPushes` on its thread. `opener` subscribes as part of opening.
    init(
        persistent configuration: RedisConfiguration, logger: Logger, opener: @escaping Opener,
        onPushes: @escaping @Sendable ([RedisValue]) -> Void
    ) {
        core = Core(
            configuration: configuration,
            options: .init(
                commandTimeout: configuration.commandTimeout, connectTimeout: configuration.connectTimeout,
                threadWritesOnly: true, persistent: true, backoff: .outage),
            open: opener, onOpen: nil, onPushes: onPushes, logger: logger)
        core.start()
    }

    deinit { core.close() }

    /// Sends a batch of commands in one write and returns their replies in order (error replies in place).
    ///
    /// - Parameter timeout: how long the replies may take; defaults to the configuration's command timeout.
    ///   Blocking commands pass their block time plus a margin.
    ///   - followUp: given the replies, the commands to send next; they are written by the connection's thread the
    ///     moment the replies arrive, without waking the caller in between, and their replies are appended to the
    ///     result. Used when nothing else is in flight on the connection (a dedicated one); otherwise it is
    ///     skipped and the caller gets the first replies only.
    func execute(
        _ commands: [RedisCommand], timeout: Duration? = nil,
        followUp: (@Sendable ([RedisValue]) -> [RedisCommand])? = nil
    ) async throws -> [RedisValue] {
        var payload: [UInt8]
        if commands.count == 1 {
            payload = commands[0].encoded
        } else {
            payload = []
            payload.reserveCapacity(commands.reduce(0) { $0 + $1.encoded.count })
            for command in commands { payload.append(contentsOf: command.encoded) }
        }
        let id = core.nextRequestID()
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                core.submit(
                    Core.Machine.Request(
                        id: id, payload: payload, replyCount: commands.count, timeout: timeout, followUp: followUp,
                        waiter: continuation))
            }
        } onCancel: {
            core.cancel(id)
        }
    }

    /// Drops the connection if it is open — the requests on it fail with `reason` as lost — so the next request
    /// opens a new one (after a sentinel announced a new master).
    func dropConnection(reason: String) { core.dropConnection(reason: reason) }

    /// Stops the thread once the batches already queued are answered; later calls fail with
    /// ``RedisError/Code/closed``.
    func close() { core.close() }

    /// The machine's state behind a lock, and the I/O it asks for, carried out by the connection's thread (and, for
    /// a direct write, by the caller).
    final class Core: @unchecked Sendable {
        typealias Machine = ConnectionStateMachine<UnsafeContinuation<[RedisValue], any Error>>

        let configuration: RedisConfiguration
        let logger: Logger
        private let lock = ThreadCondition()
        /// Guarded by `lock`.
        private var machine: Machine
        private var requestCounter: UInt64 = 0
        /// The wake-up pipe: callers write a byte to make the thread look at the state again. Guarded by `lock`.
        private var wakeReader: Int32 = -1
        private var wakeWriter: Int32 = -1
        private let open: Opener
        private let onOpen: (@Sendable () -> Void)?
        private let onPushes: (@Sendable ([RedisValue]) -> Void)?
        // Owned by the connection thread only.
        private var context: HiredisContext?
        private var transport: Transport?

        init(
            configuration: RedisConfiguration, options: Machine.Options, open: @escaping Opener,
            onOpen: (@Sendable () -> Void)?, onPushes: (@Sendable ([RedisValue]) -> Void)?, logger: Logger
        ) {
            self.configuration = configuration
            self.machine = Machine(options: options)
            self.open = open
            self.onOpen = onOpen
            self.onPushes = onPushes
            self.logger = logger
        }

        func nextRequestID() -> UInt64 {
            lock.lock()
            defer { lock.unlock() }
            requestCounter &+= 1
            return requestCounter
        }

        func submit(_ request: Machine.Request) {
            lock.lock()
            switch machine.submit(request, now: .now) {
            case .none:
                lock.unlock()
            case .wakeThread:
                wake()
                lock.unlock()
            case .fail(let waiter, let error):
                lock.unlock()
                waiter.resume(throwing: error)
            case .startThread:
                startThread()
            case .writeDirectly(let socket, let generation):
                // Written from this thread without holding the lock during the system call; until the machine
                // hears back, other callers queue behind it and the connection's thread does not write.
                lock.unlock()
                RedisRoundTrips.record()
                let written = Transport.plain(socket).send(request.payload[...])
                lock.lock()
                if machine.directWriteFinished(written: written, payload: request.payload, generation: generation) {
                    wake()
                }
                lock.broadcast()  // a thread dropping the connection waits for this write to end
                lock.unlock()
            }
        }

        /// Starts a persistent connection's thread.
        func start() {
            lock.lock()
            if machine.start() { startThread() } else { lock.unlock() }
        }

        /// Creates the wake-up pipe and starts the thread; called with the lock held, which it releases.
        private func startThread() {
            var fds: [Int32] = [-1, -1]
            guard rq_pipe_nonblocking_cloexec(&fds) == 0 else {
                let error = RedisError(.connectionFailed, "cannot create a pipe: \(String(cString: strerror(errno)))")
                let failed = machine.abandon()
                lock.unlock()
                for waiter in failed { waiter.resume(throwing: error) }
                return
            }
            (wakeReader, wakeWriter) = (fds[0], fds[1])
            lock.unlock()
            BlockingThread.start(name: machine.options.persistent ? "rq-pubsub" : "rq-redis") { self.run() }
        }

        func cancel(_ id: UInt64) {
            lock.lock()
            switch machine.cancel(id) {
            case .none:
                lock.unlock()
            case .fail(let waiter):
                lock.unlock()
                waiter.resume(throwing: CancellationError())
            case .interrupt(let socket):
                // Under the lock: the socket cannot be closed and its number reused meanwhile.
                _ = shutdown(socket, Int32(SHUT_RDWR))
                lock.unlock()
            }
        }

        func dropConnection(reason: String) {
            lock.lock()
            if let socket = machine.dropConnection(reason: reason) { _ = shutdown(socket, Int32(SHUT_RDWR)) }
            lock.unlock()
        }

        func close() {
            lock.lock()
            if machine.close() { wake() }
            lock.unlock()
        }

        /// Makes the thread look at the state again. Call with the lock held.
        private func wake() {
            guard wakeWriter >= 0 else { return }
            var byte: UInt8 = 1
            _ = write(wakeWriter, &byte, 1)
        }

        /// How often the thread looks at the clock while it waits: a caller that writes to an idle connection does
        /// not wake it, and a blocking `recv` does not know the deadlines, so both wake up this often.
        private var tick: Duration { min(.seconds(1), configuration.commandTimeout) }

        func run() {
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                lock.lock()
                let step = machine.nextStep(now: .now)
                switch step {
                case .shutDown:
                    for descriptor in [wakeReader, wakeWriter] where descriptor >= 0 { Glibc.close(descriptor) }
                    wakeReader = -1
                    wakeWriter = -1
                    lock.unlock()
                    transport = nil
                    context = nil
                    return
                case .sleep(let until):
                    let wake = wakeReader
                    lock.unlock()
                    Self.poll(
                        [pollfd(fd: wake, events: Int16(POLLIN), revents: 0)],
                        timeout: until.map(Self.milliseconds) ?? -1)
                    drainWakeUps(wake)
                    wokeUp()
                case .open(let timeout):
                    lock.unlock()
                    connect(timeout: timeout)
                case .flush:
                    var failure: Int32 = 0
                    RedisRoundTrips.record()
                    let written = machine.flush { bytes in
                        let written = transport?.send(bytes) ?? -1
                        if written < 0 && errno != EAGAIN && errno != EWOULDBLOCK { failure = errno }
                        return written
                    }
                    lock.unlock()
                    if written < 0 && failure != 0 { lose(connectionLost(failure)) }
                case .receive:
                    lock.unlock()
                    let open = readReplies(into: &buffer, blocking: true)
                    if open { wokeUp() }
                case .poll(let writable, let deadline):
                    let wake = wakeReader
                    lock.unlock()
                    guard let socket = context?.fileDescriptor else {
                        lose(RedisError(.connectionLost, "connection to Redis at \(currentEndpoint) lost"))
                        continue
                    }
                    // Nothing in flight (a caller may write to the socket directly, or wake this thread through the
                    // pipe), or bytes wait for room in the socket: wait for either.
                    var descriptors = [
                        pollfd(fd: socket, events: Int16(POLLIN) | (writable ? Int16(POLLOUT) : 0), revents: 0),
                        pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                    ]
                    Self.poll(&descriptors, timeout: Self.milliseconds(until: deadline ?? .now + tick))
                    wokeUp()
                    if descriptors[1].revents != 0 { drainWakeUps(wake) }
                    if descriptors[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                        _ = readReplies(into: &buffer, blocking: false)
                    }
                case .timedOut:
                    lock.unlock()
                    lose(RedisError(.timeout, "Redis at \(currentEndpoint) did not reply in time"))
                }
            }
        }

        private func wokeUp() {
            lock.lock()
            machine.threadWoke()
            lock.unlock()
        }

        /// Opens a connection for the machine, or tells it why that failed.
        private func connect(timeout: Duration) {
            do throws(RedisError) {
                let (fresh, freshTransport) = try open(timeout)
                fresh.setTimeout(tick)
                context = fresh
                transport = freshTransport
                lock.lock()
                machine.opened(socket: fresh.fileDescriptor, now: .now)
                lock.unlock()
                onOpen?()
            } catch {
                lock.lock()
                let failed = machine.openFailed(error, now: .now)
                lock.unlock()
                if failed.isEmpty {
                    logger.debug(
                        "redis connect retry", metadata: ["rq.redis": "\(configuration.endpoint)", "error": "\(error)"])
                }
                for waiter in failed { waiter.resume(throwing: error) }
            }
        }

        /// Reads what the socket has and hands every complete reply to the machine; false if the connection failed.
        ///
        /// - Parameter blocking: wait for the first bytes (up to the socket's receive timeout); later reads never
        ///   wait.
        private func readReplies(into buffer: inout [UInt8], blocking: Bool) -> Bool {
            guard let context, let transport else { return false }
            var waiting = blocking
            while true {
                let count = transport.receive(into: &buffer, waiting: waiting ? tick : nil)
                waiting = false
                if count == 0 {
                    lose(RedisError(.connectionLost, "Redis at \(currentEndpoint) closed the connection"))
                    return false
                }
                if count < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN || errno == EWOULDBLOCK { return true }
                    lose(connectionLost(errno))
                    return false
                }
                var replies: [RedisValue] = []
                do throws(RedisError) {
                    try context.feed(buffer, count: count)
                    while let reply = try context.nextReply() { replies.append(reply) }
                } catch {
                    lose(error)
                    return false
                }
                lock.lock()
                let delivery = machine.received(replies)
                lock.unlock()
                for (continuation, values) in delivery.completed { continuation.resume(returning: values) }
                if !delivery.pushes.isEmpty { onPushes?(delivery.pushes) }
                if let drop = delivery.drop {
                    lose(RedisError(drop.code, "Redis at \(context.endpoint) \(drop.message)"))
                    return false
                }
                // A short read emptied the socket; a TLS session hands out one record at a time, so it reads on
                // until it would block.
                if count < buffer.count, case .plain = transport { return true }
            }
        }

        /// Fails the requests in flight and closes the socket — once a caller writing to it directly is done.
        private func lose(_ error: RedisError) {
            lock.lock()
            let failure = machine.lost(error, now: .now)
            while machine.callerWriting { lock.wait() }  // never close the socket under a caller's `send`
            lock.unlock()
            if failure.waiters.isEmpty && machine.options.persistent {
                logger.debug(
                    "redis connection lost", metadata: ["rq.redis": "\(currentEndpoint)", "error": "\(error)"])
            }
            transport = nil
            context = nil
            for waiter in failure.waiters { waiter.resume(throwing: failure.error) }
        }

        /// The server connected to (behind Sentinel, the master it named), for messages.
        private var currentEndpoint: RedisConfiguration.Endpoint { context?.endpoint ?? configuration.endpoint }

        /// The error for a socket call that failed with `code` (or the TLS session's own reason).
        private func connectionLost(_ code: Int32) -> RedisError {
            let reason = transport?.tlsError ?? String(cString: strerror(code))
            return RedisError(.connectionLost, "connection to Redis at \(currentEndpoint) lost: \(reason)")
        }

        private func drainWakeUps(_ descriptor: Int32) {
            var bytes = [UInt8](repeating: 0, count: 64)
            while bytes.withUnsafeMutableBytes({ read(descriptor, $0.baseAddress, $0.count) }) > 0 {}
        }

        private static func poll(_ descriptors: [pollfd], timeout: Int32) {
            var descriptors = descriptors
            poll(&descriptors, timeout: timeout)
        }

        private static func poll(_ descriptors: inout [pollfd], timeout: Int32) {
            while Glibc.poll(&descriptors, nfds_t(descriptors.count), timeout) < 0 && errno == EINTR {}
        }

        private static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { return 0 }
            return Int32(clamping: remaining.microseconds / 1000 + 1)
        }
    }
}
