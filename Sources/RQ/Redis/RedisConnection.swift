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

/// One connection to Redis, with a thread of its own that reads the replies.
///
/// `execute` never blocks: it queues a batch of encoded commands and suspends. When the connection is idle —
/// nothing in flight, its thread asleep, and the last replies answered a single caller — the caller writes its batch
/// itself with a non-blocking `send`, so a lone request costs no thread handoff on the way out. Otherwise batches
/// are appended to one buffer that the connection's thread writes once the batch on the wire is answered (it wakes
/// for those replies anyway; under concurrent load the first caller wakes it), so commands from many tasks go out
/// together. The thread waits for replies in a blocking `recv` (in `poll` on the socket and a wake-up pipe while
/// nothing is in flight), feeds them to hiredis' reply parser, and resumes each caller with its replies in order.
/// Connecting (hiredis' blocking connect and the AUTH/SELECT handshake) happens on that thread too: no blocking call
/// ever runs on the Swift cooperative pool.
///
/// A broken connection fails the commands in flight with ``RedisError/Code/connectionLost``, one that does not
/// answer in time with ``RedisError/Code/timeout``; the next batch reconnects, retrying with exponential backoff
/// until the connect timeout. The very first connection is tried once, so an unreachable server is reported at once.
final class RedisConnection: Sendable {
    private let core: Core

    /// Creates the connection; its thread starts with the first command, which also opens the socket (a horse
    /// whose job never touches Redis starts no thread for it).
    init(configuration: RedisConfiguration, interruptible: Bool, logger: Logger) {
        core = Core(configuration: configuration, interruptible: interruptible, logger: logger)
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
                    Request(
                        id: id, payload: payload, replyCount: commands.count, timeout: timeout, followUp: followUp,
                        continuation: continuation))
            }
        } onCancel: {
            core.cancel(id)
        }
    }

    /// Stops the thread once the batches already queued are answered; later calls fail with
    /// ``RedisError/Code/closed``.
    func close() { core.close() }

    struct Request {
        let id: UInt64
        let payload: [UInt8]
        let replyCount: Int
        let timeout: Duration?
        /// Commands to send as soon as the replies are in, from the connection's thread; see `execute`.
        var followUp: (@Sendable ([RedisValue]) -> [RedisCommand])? = nil
        let continuation: UnsafeContinuation<[RedisValue], any Error>
    }

    /// A request whose bytes are written (or in `outgoing`), waiting for its replies.
    struct InFlight {
        let request: Request
        let deadline: ContinuousClock.Instant
    }

    /// The state shared by callers and the connection thread, guarded by `lock`.
    final class Core: @unchecked Sendable {
        let configuration: RedisConfiguration
        let interruptible: Bool
        let logger: Logger
        private let lock = ThreadCondition()
        /// Requests waiting for a connection.
        private var pending: [Request] = []
        /// Requests sent or in `outgoing`, in the order their replies will arrive; `head` is the first live one.
        private var inFlight: [InFlight] = []
        private var head = 0
        /// Bytes of in-flight requests not written yet.
        private var outgoing: [UInt8] = []
        /// The index in `inFlight` of the first request with bytes in `outgoing`. They are written once every
        /// request before it is answered — one batch on the wire at a time, so requests that arrive meanwhile
        /// gather into the next write instead of trickling out one by one.
        private var unsentStart = 0
        /// Part of `outgoing` is a request already partly written: the rest goes out as soon as the socket
        /// takes it.
        private var partiallyWritten = false
        /// The connected socket (callers send with `MSG_DONTWAIT`); -1 while there is none.
        private var socket: Int32 = -1
        /// The wake-up pipe: callers write a byte to make the thread look at the state again.
        private var wakeReader: Int32 = -1
        private var wakeWriter: Int32 = -1
        private var isClosed = false
        private var threadStarted = false
        /// A caller is writing to the socket outside the lock.
        private var writing = false
        /// The connection's thread is not waiting; it looks at `outgoing` before it waits again.
        private var readerAwake = true
        /// The last replies read answered more than one caller.
        private var concurrentLoad = false
        /// Counts connections, so a caller that wrote outside the lock knows whether its socket is still current.
        private var connectionGeneration = 0
        private var requestCounter: UInt64 = 0
        private var interrupted = false
        /// TLS sessions are read and written by the connection's thread only (an OpenSSL session is not safe to
        /// use from two threads at once), so callers never write to a TLS socket themselves.
        private let usesTLS: Bool
        // Owned by the connection thread only.
        private var context: HiredisContext?
        private var transport: Transport?
        private let opener: TransportOpener
        private var headReplies: [RedisValue] = []

        init(configuration: RedisConfiguration, interruptible: Bool, logger: Logger) {
            self.configuration = configuration
            self.interruptible = interruptible
            self.logger = logger
            self.usesTLS = configuration.tls != nil
            self.opener = TransportOpener(configuration: configuration)
        }

        func nextRequestID() -> UInt64 {
            lock.lock()
            defer { lock.unlock() }
            requestCounter &+= 1
            return requestCounter
        }

        func submit(_ request: Request) {
            lock.lock()
            if isClosed {
                lock.unlock()
                request.continuation.resume(throwing: RedisError(.closed, "the Redis client was closed"))
                return
            }
            var start = false
            if !threadStarted {
                var fds: [Int32] = [-1, -1]
                guard rq_pipe_nonblocking_cloexec(&fds) == 0 else {
                    lock.unlock()
                    request.continuation.resume(
                        throwing: RedisError(
                            .connectionFailed, "cannot create a pipe: \(String(cString: strerror(errno)))"))
                    return
                }
                (wakeReader, wakeWriter) = (fds[0], fds[1])
                threadStarted = true
                start = true
            }
            if socket >= 0 {
                // Idle: nothing in flight, the connection's thread asleep in `poll`, and the last replies answered
                // a single caller. While the thread is awake (it has just resumed callers with their replies, say)
                // it writes whatever they queue before it sleeps again, so a burst still goes out as one write.
                let nothingInFlight = head == inFlight.count && outgoing.isEmpty
                let timeout = request.timeout ?? configuration.commandTimeout
                inFlight.append(InFlight(request: request, deadline: .now + timeout))
                if nothingInFlight && !readerAwake && !concurrentLoad && !usesTLS {
                    // Nothing else is in flight: write it now, from this thread, without waking the connection's,
                    // and without holding the lock during the system call. Until `writing` is cleared, other
                    // callers queue their bytes behind these, and the connection's thread does not write.
                    writing = true
                    let descriptor = socket
                    let generation = connectionGeneration
                    lock.unlock()
                    RedisRoundTrips.record()
                    let written = Transport.plain(descriptor).send(request.payload[...])
                    lock.lock()
                    writing = false
                    if written < request.payload.count && generation == connectionGeneration && socket >= 0 {
                        // The socket buffer is full: the connection's thread writes the rest when it can.
                        outgoing.insert(contentsOf: request.payload.dropFirst(max(written, 0)), at: 0)
                        unsentStart = head
                        partiallyWritten = true
                        wake()
                    } else if mayFlush {
                        // The reply came before this caller was done, and the thread, seeing `writing`, went back
                        // to sleep without writing what others queued meanwhile.
                        wake()
                    }
                    lock.broadcast()
                } else {
                    // The connection's thread writes these bytes once the batch before them is answered (it wakes
                    // for those replies anyway), together with whatever else is queued by then.
                    if outgoing.isEmpty { unsentStart = inFlight.count - 1 }
                    outgoing.append(contentsOf: request.payload)
                    // Under concurrent load nobody writes directly: the first caller wakes the thread, and by the
                    // time it writes, the callers after it have gathered into the same write.
                    if nothingInFlight && !readerAwake { wake() }
                }
            } else {
                pending.append(request)
                wake()
            }
            lock.unlock()
            if start { BlockingThread.start(name: "rq-redis") { self.run() } }
        }

        /// Cancels a request: a queued one is dropped; one in flight on an interruptible (dedicated) connection is
        /// interrupted by shutting the socket down, which fails it at once.
        func cancel(_ id: UInt64) {
            lock.lock()
            if let index = pending.firstIndex(where: { $0.id == id }) {
                let request = pending.remove(at: index)
                lock.unlock()
                request.continuation.resume(throwing: CancellationError())
                return
            }
            if interruptible, socket >= 0, inFlight[head...].contains(where: { $0.request.id == id }) {
                interrupted = true
                _ = shutdown(socket, Int32(SHUT_RDWR))
            }
            lock.unlock()
        }

        func close() {
            lock.lock()
            if !isClosed {
                isClosed = true
                wake()
            }
            lock.unlock()
        }

        /// Whether the connection's thread should write `outgoing` now. Call with the lock held.
        private var mayFlush: Bool {
            !outgoing.isEmpty && !writing && (partiallyWritten || head >= unsentStart)
        }

        /// Makes the thread look at the state again. Call with the lock held.
        private func wake() {
            guard wakeWriter >= 0 else { return }
            var byte: UInt8 = 1
            _ = write(wakeWriter, &byte, 1)
        }

        func run() {
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                lock.lock()
                if socket < 0 {
                    if pending.isEmpty {
                        if isClosed {
                            shutDownThread()
                            return
                        }
                        let wake = wakeReader
                        lock.unlock()
                        Self.poll([pollfd(fd: wake, events: Int16(POLLIN), revents: 0)], timeout: -1)
                        drainWakeUps()
                        continue
                    }
                    lock.unlock()
                    connect()
                    continue
                }
                if isClosed && pending.isEmpty && head == inFlight.count {
                    shutDownThread()
                    return
                }
                let descriptor = socket
                if mayFlush {
                    lock.unlock()
                    guard flush() else { continue }
                    lock.lock()
                }
                // Replies are due and everything they answer is written: wait for them in a blocking `recv`, as
                // the cheapest wait there is (the socket's receive timeout, `tick`, brings the thread back now and
                // then to look at deadlines). Callers meanwhile queue their bytes, written after the replies.
                // (Not while a caller is writing: it may need to wake this thread through the pipe.)
                let written = outgoing.isEmpty ? inFlight.count : unsentStart
                let awaiting = head < written && !partiallyWritten && !writing
                let wantsWrite = mayFlush
                let deadline = head < inFlight.count ? inFlight[head].deadline : nil
                let wake = wakeReader
                readerAwake = false
                lock.unlock()

                if awaiting {
                    let outcome = readReplies(into: &buffer, blocking: true)
                    lock.lock()
                    readerAwake = true
                    lock.unlock()
                    guard outcome else { continue }
                } else {
                    // Nothing in flight (a caller may write to the socket directly, or wake this thread through
                    // the pipe), or bytes wait for room in the socket: wait for either.
                    var descriptors = [
                        pollfd(fd: descriptor, events: Int16(POLLIN) | (wantsWrite ? Int16(POLLOUT) : 0), revents: 0),
                        pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                    ]
                    Self.poll(&descriptors, timeout: Self.milliseconds(until: deadline ?? .now + tick))
                    lock.lock()
                    readerAwake = true
                    lock.unlock()
                    if descriptors[1].revents != 0 { drainWakeUps() }
                    if descriptors[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                        guard readReplies(into: &buffer, blocking: false) else { continue }
                    }
                }
                guard flush() else { continue }
                lock.lock()
                let overdue = head < inFlight.count && ContinuousClock.now >= inFlight[head].deadline
                lock.unlock()
                if overdue { fail(RedisError(.timeout, "Redis at \(currentEndpoint) did not reply in time")) }
            }
        }

        /// How often the thread looks at the clock while it waits: a caller that writes to an idle connection
        /// does not wake it, and a blocking `recv` does not know the deadlines, so both wake up this often.
        private var tick: Duration { min(.seconds(1), configuration.commandTimeout) }

        /// Reads what the socket has and hands every complete reply to its request; false if the connection failed.
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
                    fail(RedisError(.connectionLost, "Redis at \(currentEndpoint) closed the connection"))
                    return false
                }
                if count < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN || errno == EWOULDBLOCK { return true }
                    fail(connectionLost(errno, transport))
                    return false
                }
                do throws(RedisError) {
                    try context.feed(buffer, count: count)
                    var replies: [RedisValue] = []
                    while let reply = try context.nextReply() { replies.append(reply) }
                    guard deliver(replies) else {
                        fail(RedisError(.protocolError, "Redis at \(context.endpoint) sent an unexpected reply"))
                        return false
                    }
                    // Behind Sentinel, a master that was demoted answers writes with READONLY: find the master
                    // again (the callers got their READONLY, which is transient, and try again).
                    if configuration.sentinel != nil, replies.contains(where: \.isReadOnlyError) {
                        fail(
                            RedisError(
                                .connectionLost,
                                "Redis at \(context.endpoint) is a replica now; asking the sentinels again"))
                        return false
                    }
                } catch {
                    fail(error)
                    return false
                }
                // A short read emptied the socket; a TLS session hands out one record at a time, so it reads on
                // until it would block.
                if count < buffer.count && !usesTLS { return true }
            }
        }

        /// Hands replies to the requests in flight, in order, under one lock, and resumes those now complete;
        /// false if a reply came that no request was waiting for.
        private func deliver(_ replies: [RedisValue]) -> Bool {
            guard !replies.isEmpty else { return true }
            var complete: [(UnsafeContinuation<[RedisValue], any Error>, [RedisValue])] = []
            var unexpected = false
            lock.lock()
            readerAwake = true  // awake until it next waits: callers resumed below queue behind, not write alone
            for reply in replies {
                guard head < inFlight.count else {
                    unexpected = true
                    break
                }
                let request = inFlight[head].request
                headReplies.append(reply)
                guard headReplies.count == request.replyCount else { continue }
                if let followUp = request.followUp, head == inFlight.count - 1, outgoing.isEmpty, !writing {
                    let more = followUp(headReplies)
                    if !more.isEmpty {
                        // The same caller waits on; its next commands go out as soon as this thread writes.
                        let next = Request(
                            id: request.id, payload: [], replyCount: headReplies.count + more.count, timeout: nil,
                            continuation: request.continuation)
                        inFlight[head] = InFlight(request: next, deadline: .now + configuration.commandTimeout)
                        unsentStart = head
                        for command in more { outgoing.append(contentsOf: command.encoded) }
                        continue
                    }
                }
                complete.append((request.continuation, headReplies))
                headReplies = []
                head += 1
            }
            if head == inFlight.count {
                inFlight.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 && head * 2 >= inFlight.count {
                inFlight.removeFirst(head)
                unsentStart = max(0, unsentStart - head)
                head = 0
            }
            if !complete.isEmpty { concurrentLoad = complete.count > 1 }
            lock.unlock()
            for (continuation, values) in complete { continuation.resume(returning: values) }
            return !unexpected
        }

        /// Writes as much of `outgoing` as the socket takes; false if the connection failed.
        private func flush() -> Bool {
            lock.lock()
            guard socket >= 0, mayFlush else {
                lock.unlock()
                return true
            }
            RedisRoundTrips.record()
            let written = transport?.send(outgoing[...]) ?? -1
            if written > 0 {
                outgoing.removeFirst(written)
                partiallyWritten = !outgoing.isEmpty
            }
            let error = written < 0 && errno != EAGAIN && errno != EWOULDBLOCK ? errno : 0
            lock.unlock()
            guard error == 0 else {
                fail(connectionLost(error, transport))
                return false
            }
            return true
        }

        /// The server connected to (behind Sentinel, the master it named), for messages.
        private var currentEndpoint: RedisConfiguration.Endpoint { context?.endpoint ?? configuration.endpoint }

        /// The error for a socket call that failed with `code` (or the TLS session's own reason).
        private func connectionLost(_ code: Int32, _ transport: Transport?) -> RedisError {
            let reason = transport?.tlsError ?? String(cString: strerror(code))
            return RedisError(.connectionLost, "connection to Redis at \(currentEndpoint) lost: \(reason)")
        }

        /// Fails every request in flight and drops the connection; queued requests reconnect.
        private func fail(_ error: RedisError) {
            lock.lock()
            let failed = inFlight[head...].map(\.request)
            inFlight.removeAll()
            head = 0
            outgoing.removeAll()
            unsentStart = 0
            partiallyWritten = false
            socket = -1
            let wasInterrupted = interrupted
            interrupted = false
            while writing { lock.wait() }  // never close the socket under a caller's `send`
            lock.unlock()
            transport = nil
            context = nil
            headReplies = []
            for request in failed {
                request.continuation.resume(throwing: wasInterrupted ? CancellationError() : error)
            }
        }

        /// Connects (with backoff), then moves the queued requests in flight; on failure fails them.
        private func connect() {
            do {
                let (fresh, freshTransport) = try connected()
                fresh.setTimeout(tick)
                lock.lock()
                socket = fresh.fileDescriptor
                connectionGeneration += 1
                interrupted = false
                let now = ContinuousClock.now
                unsentStart = inFlight.count
                for request in pending {
                    inFlight.append(
                        InFlight(request: request, deadline: now + (request.timeout ?? configuration.commandTimeout)))
                    outgoing.append(contentsOf: request.payload)
                }
                pending.removeAll()
                lock.unlock()
                context = fresh
                transport = freshTransport
                headReplies = []
            } catch {
                lock.lock()
                let failed = pending
                pending.removeAll()
                lock.unlock()
                for request in failed { request.continuation.resume(throwing: error) }
            }
        }

        /// Ends the thread; called with the lock held, which it releases.
        private func shutDownThread() {
            socket = -1
            for descriptor in [wakeReader, wakeWriter] where descriptor >= 0 { Glibc.close(descriptor) }
            wakeReader = -1
            wakeWriter = -1
            lock.unlock()
            transport = nil
            context = nil
        }

        private func drainWakeUps() {
            lock.lock()
            let descriptor = wakeReader
            lock.unlock()
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

        /// A fresh context and its transport — TLS negotiated if configured — connecting with backoff until the
        /// connect timeout, the handshake done.
        private func connected() throws(RedisError) -> (HiredisContext, Transport) {
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: configuration.connectTimeout)
            var backoff = Backoff(first: .milliseconds(10), cap: .milliseconds(500))
            while true {
                let remaining = clock.now.duration(to: deadline)
                do {
                    return try opener.open(timeout: remaining)
                } catch  where error.code == .server {
                    throw error  // Wrong password or database: retrying will not help.
                } catch {
                    // A first connection fails at once, as redis-py's does: "could not connect" is the answer a
                    // command-line user or a starting service needs now. Reconnects retry, to ride out a restart.
                    let delay = backoff.next()
                    if clock.now.advanced(by: delay) >= deadline || isClosedNow() || !hasConnectedBefore() {
                        throw error
                    }
                    logger.debug("redis connect retry", metadata: ["rq.redis": "\(configuration.endpoint)"])
                    BlockingThread.sleep(seconds: delay.inSeconds)
                }
            }
        }

        private func hasConnectedBefore() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            return connectionGeneration > 0
        }

        private func isClosedNow() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            return isClosed
        }
    }
}

extension RedisValue {
    /// A `READONLY` error reply: the server is a replica.
    fileprivate var isReadOnlyError: Bool {
        if case .error(let message) = self { return message.hasPrefix("READONLY") }
        return false
    }
}
