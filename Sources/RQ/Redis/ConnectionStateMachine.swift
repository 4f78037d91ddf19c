/// Everything one connection to Redis knows, as a value: whether it is connected, the requests waiting for a
/// connection, the requests on the wire in the order their replies will come, the bytes not written yet, who may
/// write them, and the backoff between reconnects. Events go in (a request submitted, bytes written, replies parsed,
/// the connection lost or opened, a deadline passed); what to do comes out (write these bytes, wait for replies,
/// open a connection, resume these waiters). It does no I/O and reads no clock — `now` is an argument — so every
/// path, reconnects and timeouts included, is unit-tested without a socket (`ConnectionStateMachineTests`).
///
/// ``RedisConnection`` owns one behind a lock and carries out its actions on the connection's thread; `Waiter` is
/// there a continuation, in the tests any value.
///
/// The phases:
///
/// ```
///            submit                        opened
///   idle ───────────▶ connecting ─────────────────────▶ ready ──┐ submit / replies / written
///    ▲ ▲                │    ▲  back-off over                │ ◀─┘ (replies due while requests are in flight)
///    │ │ failed for good│    │                               │
///    │ └────────────────┘  backingOff ◀── failed, may retry  │ lost, timed out, dropped
///    └───────────────────────────────────────────────────────┘
///   close(): finishes what is queued, then `shutDown` (closed)
/// ```
///
/// Writing: one batch is on the wire at a time. Requests submitted while replies are due gather in `outgoing` and
/// go out together once the batch before them is answered (automatic pipelining). A request submitted to an idle
/// connection — nothing in flight, the connection's thread waiting, the last replies answering a single caller —
/// is written by the caller itself (``SubmitAction/writeDirectly(socket:generation:)``), which saves a thread
/// handoff; until it reports back (``directWriteFinished(written:payload:generation:)``) nobody else writes.
struct ConnectionStateMachine<Waiter> {
    /// A batch of commands and whoever waits for their replies.
    struct Request {
        let id: UInt64
        let payload: [UInt8]
        let replyCount: Int
        /// How long the replies may take; nil for the configuration's command timeout.
        let timeout: Duration?
        /// Commands to send as soon as the replies are in, if nothing else is in flight; their replies are appended.
        var followUp: (@Sendable ([RedisValue]) -> [RedisCommand])? = nil
        let waiter: Waiter
    }

    /// A request written (or in `outgoing`), waiting for its replies.
    struct InFlight {
        var request: Request
        var deadline: ContinuousClock.Instant
    }

    enum Phase: Equatable {
        /// No connection. One is opened when a request comes (at once for a persistent connection).
        case idle
        /// The connection's thread is opening one (connect, TLS, AUTH/SELECT); `until` bounds the whole series of
        /// tries.
        case connecting(until: ContinuousClock.Instant)
        /// A try failed; the next one starts at `retryAt`.
        case backingOff(retryAt: ContinuousClock.Instant, until: ContinuousClock.Instant)
        /// Connected on `socket`, the `generation`th connection.
        case ready(socket: Int32, generation: Int)
        /// Closed and finished: the thread has ended.
        case shutDown
    }

    struct Options {
        var commandTimeout: Duration
        var connectTimeout: Duration
        /// A blocking command in flight may be interrupted (its socket shut down) when its task is cancelled.
        var interruptible = false
        /// Callers never write themselves (a TLS session is used by the connection's thread only).
        var threadWritesOnly = false
        /// A `READONLY` reply means the server was demoted (behind Sentinel): drop the connection.
        var readOnlyDropsConnection = false
        /// Stays connected without requests and reconnects for ever (a subscriber): every reply is a push.
        var persistent = false
        /// Waits between connection tries.
        var backoff = Backoff(first: .milliseconds(10), cap: .milliseconds(500))
    }

    private(set) var phase = Phase.idle
    let options: Options
    private var backoff: Backoff
    /// Requests waiting for a connection.
    private var pending: [Request] = []
    /// Requests sent or in `outgoing`, in the order their replies will arrive; `head` is the first live one.
    private var inFlight: [InFlight] = []
    private var head = 0
    /// Replies read so far for the request at `head` (a batch's replies can come in several reads).
    private var headReplies: [RedisValue] = []
    /// Bytes of in-flight requests not written yet.
    private(set) var outgoing: [UInt8] = []
    /// The index in `inFlight` of the first request with bytes in `outgoing`: they are written once every request
    /// before it is answered.
    private var unsentStart = 0
    /// Part of `outgoing` belongs to a request already partly written: the rest goes out as soon as it can.
    private var partiallyWritten = false
    /// A caller is writing to the socket (``SubmitAction/writeDirectly(socket:generation:)``).
    private(set) var callerWriting = false
    /// The connection's thread is not waiting: it looks at `outgoing` before it waits again.
    private var threadAwake = true
    /// The last replies read answered more than one caller: callers queue rather than write themselves.
    private var concurrentLoad = false
    private var generation = 0
    /// The connection in flight was shut down to interrupt a cancelled blocking command.
    private var interrupted = false
    private(set) var isClosed = false
    private var threadStarted = false
    /// Why the connection was dropped on purpose (``dropConnection(reason:)``), for the requests it fails.
    private var dropReason: String?

    init(options: Options) {
        self.options = options
        self.backoff = options.backoff
    }

    /// Connections opened so far.
    var connections: Int { generation }

    /// Requests waiting for a connection or for replies.
    var requestCount: Int { pending.count + inFlight.count - head }

    // MARK: - Callers

    enum SubmitAction {
        /// Nothing to do: the request is queued and the thread will see it.
        case none
        /// Start the connection's thread (first request); it opens the connection.
        case startThread
        /// Wake the connection's thread (it waits with nothing in flight).
        case wakeThread
        /// Write the payload to `socket` now, from the caller, then report ``directWriteFinished``.
        case writeDirectly(socket: Int32, generation: Int)
        /// The connection is closed.
        case fail(Waiter, RedisError)
    }

    mutating func submit(_ request: Request, now: ContinuousClock.Instant) -> SubmitAction {
        if isClosed { return .fail(request.waiter, RedisError(.closed, "the Redis client was closed")) }
        guard case .ready(let socket, let generation) = phase else {
            pending.append(request)
            if !threadStarted {
                threadStarted = true
                return .startThread
            }
            return .wakeThread
        }
        let nothingInFlight = head == inFlight.count && outgoing.isEmpty
        inFlight.append(InFlight(request: request, deadline: now + (request.timeout ?? options.commandTimeout)))
        if nothingInFlight && !threadAwake && !concurrentLoad && !options.threadWritesOnly {
            callerWriting = true
            return .writeDirectly(socket: socket, generation: generation)
        }
        if outgoing.isEmpty { unsentStart = inFlight.count - 1 }
        outgoing.append(contentsOf: request.payload)
        // Under concurrent load nobody writes directly: the first caller wakes the thread, and by the time it
        // writes, the callers after it have gathered into the same write.
        return nothingInFlight && !threadAwake ? .wakeThread : .none
    }

    /// A caller's direct write is done; `written` bytes of `payload` went out (-1: none, the socket failed).
    ///
    /// - Returns: whether to wake the thread (to write the rest, or what others queued meanwhile).
    mutating func directWriteFinished(written: Int, payload: [UInt8], generation writtenGeneration: Int) -> Bool {
        callerWriting = false
        if written < payload.count, case .ready(_, writtenGeneration) = phase {
            // The socket buffer is full: the thread writes the rest when it can.
            outgoing.insert(contentsOf: payload.dropFirst(max(written, 0)), at: 0)
            unsentStart = head
            partiallyWritten = true
            return true
        }
        // The reply may have come before the caller was done, and the thread, seeing it writing, went back to
        // waiting without writing what others queued meanwhile.
        return mayFlush
    }

    enum CancelAction {
        case none
        /// The request was waiting for a connection: it is dropped; resume its waiter with `CancellationError`.
        case fail(Waiter)
        /// Shut `socket` down: the blocking command on it fails at once (with `CancellationError`).
        case interrupt(socket: Int32)
    }

    mutating func cancel(_ id: UInt64) -> CancelAction {
        if let index = pending.firstIndex(where: { $0.id == id }) {
            return .fail(pending.remove(at: index).waiter)
        }
        if options.interruptible, case .ready(let socket, _) = phase,
            inFlight[head...].contains(where: { $0.request.id == id })
        {
            interrupted = true
            return .interrupt(socket: socket)
        }
        return .none
    }

    /// The server may have changed (a sentinel announced a new master): the socket to shut down, if connected, so
    /// the requests on it fail as lost — with `reason` — and the next ones find the master again.
    mutating func dropConnection(reason: String) -> Int32? {
        guard case .ready(let socket, _) = phase else { return nil }
        dropReason = reason
        return socket
    }

    /// Starts the thread of a persistent connection, which connects without waiting for a request.
    ///
    /// - Returns: whether to start it (false if it runs already).
    mutating func start() -> Bool {
        guard !threadStarted, !isClosed else { return false }
        threadStarted = true
        return true
    }

    /// Stops taking requests; the thread ends once those queued are answered.
    ///
    /// - Returns: whether to wake the thread.
    mutating func close() -> Bool {
        guard !isClosed else { return false }
        isClosed = true
        return threadStarted
    }

    /// The connection's thread could not start: closes the machine for good.
    ///
    /// - Returns: every waiter, to fail.
    mutating func abandon() -> [Waiter] {
        isClosed = true
        phase = .shutDown
        defer {
            pending.removeAll()
            inFlight.removeAll()
            head = 0
        }
        return pending.map(\.waiter) + inFlight[head...].map(\.request.waiter)
    }

    // MARK: - The connection's thread

    /// What the connection's thread does next.
    enum Step: Equatable {
        /// Open a connection, taking at most this long; report ``opened(socket:now:)`` or ``openFailed(_:now:)``.
        case open(timeout: Duration)
        /// Wait until woken, or until the instant (a back-off) — nil: no limit.
        case sleep(until: ContinuousClock.Instant?)
        /// Write `outgoing` (``flush(_:)``).
        case flush
        /// Replies are due and all their bytes are written: wait for them in a blocking read (bounded by a short
        /// tick), then report ``received(_:)`` (or ``lost(_:now:)``).
        case receive
        /// Wait for the socket to be readable — or writable, if `writable` — or for a wake-up, until `deadline`.
        case poll(writable: Bool, deadline: ContinuousClock.Instant?)
        /// The request at the head did not get its replies in time: call ``lost(_:now:)`` with a timeout error.
        case timedOut
        /// Closed and everything answered: close the socket and end the thread.
        case shutDown
    }

    mutating func nextStep(now: ContinuousClock.Instant) -> Step {
        switch phase {
        case .shutDown:
            return .shutDown
        case .idle:
            if pending.isEmpty && !(options.persistent && !isClosed) {
                if isClosed {
                    phase = .shutDown
                    return .shutDown
                }
                threadAwake = false
                return .sleep(until: nil)
            }
            phase = .connecting(until: now + options.connectTimeout)
            return .open(timeout: options.connectTimeout)
        case .connecting(let until):
            return .open(timeout: max(.zero, now.duration(to: until)))
        case .backingOff(let retryAt, let until):
            if isClosed && pending.isEmpty {
                phase = .shutDown
                return .shutDown
            }
            // Closed with requests waiting: one last try, which fails them if it fails.
            if now < retryAt && !isClosed {
                threadAwake = false
                return .sleep(until: retryAt)
            }
            phase = .connecting(until: until)
            return .open(timeout: max(.zero, now.duration(to: until)))
        case .ready:
            if isClosed && pending.isEmpty && head == inFlight.count && !callerWriting {
                phase = .shutDown
                return .shutDown
            }
            if head < inFlight.count && now >= inFlight[head].deadline { return .timedOut }
            if mayFlush { return .flush }
            let writtenUpTo = outgoing.isEmpty ? inFlight.count : unsentStart
            threadAwake = false
            if head < writtenUpTo && !partiallyWritten && !callerWriting { return .receive }
            // Nothing due (a caller may write directly, or wake the thread), or bytes wait for room in the socket.
            return .poll(writable: mayFlush, deadline: head < inFlight.count ? inFlight[head].deadline : nil)
        }
    }

    /// The thread is back from a wait (``Step/sleep(until:)``, ``Step/receive``, ``Step/poll(writable:deadline:)``).
    mutating func threadWoke() { threadAwake = true }

    /// Whether the thread should write `outgoing` now.
    private var mayFlush: Bool {
        !outgoing.isEmpty && !callerWriting && (partiallyWritten || head >= unsentStart)
    }

    /// Writes `outgoing` through `send` (which returns the bytes taken, or -1 with the socket's error) and keeps
    /// what it did not take.
    ///
    /// - Returns: what `send` returned (0 when there was nothing to write).
    mutating func flush(_ send: (ArraySlice<UInt8>) -> Int) -> Int {
        guard case .ready = phase, mayFlush else { return 0 }
        let written = send(outgoing[...])
        if written > 0 {
            outgoing.removeFirst(written)
            partiallyWritten = !outgoing.isEmpty
        }
        return written
    }

    /// The outcome of replies read from the socket.
    struct Delivery {
        /// Requests now answered, in order, with their replies.
        var completed: [(Waiter, [RedisValue])] = []
        /// Replies of a persistent connection (pub/sub messages).
        var pushes: [RedisValue] = []
        /// The connection must be dropped (call ``lost(_:now:)`` with it) after the completed requests are resumed.
        var drop: RedisError?
    }

    /// Hands replies to the requests in flight, in order; a request with a follow-up is kept in flight with the
    /// follow-up's commands queued.
    mutating func received(_ replies: [RedisValue]) -> Delivery {
        var delivery = Delivery()
        guard !replies.isEmpty else { return delivery }
        threadAwake = true  // until it next waits: callers resumed now queue behind, not write alone
        if options.persistent {
            delivery.pushes = replies
            return delivery
        }
        for reply in replies {
            guard head < inFlight.count else {
                delivery.drop = RedisError(.protocolError, "sent a reply no command was waiting for")
                break
            }
            let request = inFlight[head].request
            headReplies.append(reply)
            guard headReplies.count == request.replyCount else { continue }
            if let followUp = request.followUp, head == inFlight.count - 1, outgoing.isEmpty, !callerWriting {
                let more = followUp(headReplies)
                if !more.isEmpty {
                    // The same waiter waits on; the follow-up goes out as soon as the thread writes.
                    inFlight[head] = InFlight(
                        request: Request(
                            id: request.id, payload: [], replyCount: headReplies.count + more.count, timeout: nil,
                            waiter: request.waiter),
                        deadline: inFlight[head].deadline)
                    unsentStart = head
                    for command in more { outgoing.append(contentsOf: command.encoded) }
                    continue
                }
            }
            delivery.completed.append((request.waiter, headReplies))
            headReplies = []
            head += 1
        }
        if head == inFlight.count {
            inFlight.removeAll(keepingCapacity: true)
            head = 0
            unsentStart = 0
        } else if head >= 1024 && head * 2 >= inFlight.count {
            inFlight.removeFirst(head)
            unsentStart = max(0, unsentStart - head)
            head = 0
        }
        if !delivery.completed.isEmpty { concurrentLoad = delivery.completed.count > 1 }
        if delivery.drop == nil, options.readOnlyDropsConnection, replies.contains(where: \.isReadOnlyError) {
            // Behind Sentinel, a demoted master answers writes with READONLY: find the master again (the callers
            // got their READONLY, which is transient, and try again).
            delivery.drop = RedisError(.connectionLost, "is a replica now; asking the sentinels again")
        }
        return delivery
    }

    /// The requests a lost connection failed, and with what.
    struct Failure {
        var waiters: [Waiter]
        /// The error for them: `CancellationError` when the connection was shut down to interrupt a cancelled
        /// blocking command, else the `RedisError` given.
        var error: any Error
    }

    /// The connection failed (closed by the server, a socket error, a timeout, a protocol error, dropped): every
    /// request in flight fails; requests waiting for a connection stay, and open the next one.
    mutating func lost(_ error: RedisError, now: ContinuousClock.Instant) -> Failure {
        let failed = inFlight[head...].map(\.request.waiter)
        var error = error
        if let dropReason { error = RedisError(.connectionLost, dropReason) }
        dropReason = nil
        let failure = Failure(waiters: failed, error: interrupted ? CancellationError() : error)
        inFlight.removeAll()
        head = 0
        headReplies = []
        outgoing.removeAll()
        unsentStart = 0
        partiallyWritten = false
        interrupted = false
        threadAwake = true
        if case .ready = phase { phase = .idle }
        if options.persistent && !isClosed {
            phase = .backingOff(retryAt: now + backoff.next(), until: now + .seconds(86_400 * 365))
        }
        return failure
    }

    /// A connection is open on `socket`: the requests that waited for it go out.
    mutating func opened(socket: Int32, now: ContinuousClock.Instant) {
        generation += 1
        phase = .ready(socket: socket, generation: generation)
        backoff.reset()
        interrupted = false
        dropReason = nil
        threadAwake = true
        unsentStart = inFlight.count
        for request in pending {
            inFlight.append(InFlight(request: request, deadline: now + (request.timeout ?? options.commandTimeout)))
            outgoing.append(contentsOf: request.payload)
        }
        pending.removeAll()
    }

    /// Opening a connection failed.
    ///
    /// - Returns: the waiters to fail with `error` — none while another try is due. A first connection is tried
    ///   once (an unreachable server is reported at once, as redis-py does); a refused AUTH or SELECT is not
    ///   retried; a reconnect retries with backoff until the connect timeout; a persistent connection retries for
    ///   ever.
    mutating func openFailed(_ error: RedisError, now: ContinuousClock.Instant) -> [Waiter] {
        guard case .connecting(let until) = phase else { return [] }
        let delay = backoff.next()
        let retry =
            !isClosed
            && (options.persistent
                || (error.code != .server && generation > 0 && now + delay < until))
        if retry {
            phase = .backingOff(retryAt: now + delay, until: options.persistent ? now + .seconds(86_400 * 365) : until)
            return []
        }
        phase = .idle
        backoff.reset()
        let failed = pending.map(\.waiter)
        pending.removeAll()
        return failed
    }
}

extension RedisValue {
    /// A `READONLY` error reply: the server is a replica.
    fileprivate var isReadOnlyError: Bool {
        if case .error(let message) = self { return message.hasPrefix("READONLY") }
        return false
    }
}
