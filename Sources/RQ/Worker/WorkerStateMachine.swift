/// What a worker knows about its own work, as a value: its phase (running, draining after a warm shutdown, stopped
/// by a cold one), the jobs in its slots, the dequeues on their way, the outcomes still being written, how many jobs
/// it has taken, whether its dequeue may have started jobs it never heard of, and whether Redis is away. The dequeue
/// loop asks it for the next ``Step`` and tells it what happened; it does no I/O and reads no clock (`now` is an
/// argument), so burst ends, max jobs, shutdowns, slots and outages are unit-tested without Redis or processes
/// (`WorkerStateMachineTests`).
///
/// `WorkerPool` owns one and carries out its steps.
///
/// ```
///   initial ──start──▶ running ──warm shutdown, burst end, max jobs, idle──▶ draining ──▶ finished
///                         │                                                  │
///                         └───────────────cold shutdown─────────────▶ stopped ┘ (jobs stopped; outcomes written)
/// ```
///
/// Draining and stopped both end the same way: wait for the jobs in the slots to end and for every outcome to be
/// written, then finish — a job never stays "started" because its worker left.
///
/// A dequeue runs beside the loop, not in it: while one is on its way the jobs keep ending, and once one has taken as
/// many jobs as it asked for (the queues have more), a second may go out for the slots freed meanwhile, so Redis
/// starts the next jobs while this process runs the last ones. Never more than two, and only one while the queues
/// run dry or after a failure. Only a dequeue sent alone may block on empty queues; a second returns at once.
struct WorkerStateMachine {
    struct Settings {
        var concurrency: Int
        var maxJobs: Int?
        var burst = false
        var maxIdleTime: Duration?
        var maximumOutage: Duration?
    }

    enum Phase: Equatable {
        case initial
        case running
        /// A warm shutdown (or the end of a burst, of max jobs, of the idle time): no new jobs.
        case draining
        /// A cold shutdown: the running jobs were stopped.
        case stopped
        /// Every job ended and every outcome is written.
        case finished
    }

    /// What the dequeue loop does next.
    enum Step: Equatable {
        /// Check for a suspension, then take up to `limit` jobs; if the queues are empty, wait for one only if
        /// `mayBlock` (a dequeue sent alone: a second one returns at once, so only one connection blocks). The dequeue
        /// is on its way from now on; end it with ``dequeued(_:limit:now:)``, or with ``dequeueAbandoned(limit:)``
        /// (after ``suspended()``, or a failure reported with ``redisFailed(duringDequeue:now:)``).
        case dequeue(limit: Int, mayBlock: Bool)
        /// A dequeue failed: jobs this worker started in Redis may be unknown to it. Put back on their queues the
        /// ones it did not take (`known` are the ones it did); report ``lostStartsRequeued()``.
        case requeueLostStarts(known: Set<String>)
        /// Wait until a job in a slot ends (``jobEnded(_:)``) or a dequeue returns.
        case waitForAJobOrADequeue
        /// Wait until the outcomes being written are written (``outcomeWritten(_:)``).
        case waitForOutcomeWrites
        /// Suspended: look again in a second.
        case pauseWhileSuspended
        /// Everything is done: unregister.
        case finish
    }

    let settings: Settings
    private(set) var phase = Phase.initial
    /// Jobs in the slots: dequeued and being read, or running.
    private(set) var running: Set<String> = []
    /// Jobs that ended whose outcome is being written.
    private(set) var recording: Set<String> = []
    /// Jobs taken from the queues so far (those that could be read).
    private(set) var processed = 0
    private var startsMayBeLost = false
    private var lastDequeueFoundNothing = false
    /// Dequeues on their way, and the slots they may fill.
    private(set) var dequeuesInFlight = 0
    private var reserved = 0
    /// Whether the last dequeue took as many jobs as it asked for: a second one may go out before it returns.
    private var queuesHaveMore = false
    private var isSuspended = false
    private var lastActivity: ContinuousClock.Instant
    /// Since when Redis has been away, and the backoff of the tries; nil while it answers.
    private var outage: (since: ContinuousClock.Instant, backoff: Backoff)?

    init(settings: Settings, now: ContinuousClock.Instant) {
        self.settings = settings
        lastActivity = now
    }

    /// Every job taken and not yet recorded: in a slot or being written.
    var taken: Set<String> { running.union(recording) }

    /// Whether Redis is away (a failure since its last answer).
    var isInOutage: Bool { outage != nil }

    // MARK: The loop

    mutating func start() {
        if phase == .initial { phase = .running }
    }

    mutating func nextStep(now: ContinuousClock.Instant) -> Step {
        switch phase {
        case .initial, .finished:
            return .finish
        case .draining, .stopped:
            return drain()
        case .running:
            break
        }
        if let maxJobs = settings.maxJobs, processed >= maxJobs { return drainFromNowOn() }
        if dequeuesInFlight > 0 {
            // Only while jobs are flowing: a dequeue of empty queues may block, a failed one is being ridden out, and
            // lost starts are put back with no dequeue on its way.
            guard dequeuesInFlight < 2, queuesHaveMore, !isSuspended, !startsMayBeLost else {
                return .waitForAJobOrADequeue
            }
            guard freeSlots >= refillThreshold, let limit = dequeueLimit else { return .waitForAJobOrADequeue }
            return dequeue(limit: limit)
        }
        if lastDequeueFoundNothing {
            lastDequeueFoundNothing = false
            if settings.burst {
                // A retry or repeat being written may queue a job again: look once more after it.
                if !running.isEmpty { return .waitForAJobOrADequeue }
                if !recording.isEmpty { return .waitForOutcomeWrites }
                return drainFromNowOn()
            }
            if let maxIdle = settings.maxIdleTime, running.isEmpty, now - lastActivity > maxIdle {
                return drainFromNowOn()
            }
        }
        if isSuspended {
            isSuspended = false
            if settings.burst { return drainFromNowOn() }
            return .pauseWhileSuspended
        }
        // Between dequeues every job this worker started in Redis is known to it (`taken`): now the ones a failed
        // dequeue may have started unheard of can be told apart and put back.
        if startsMayBeLost { return .requeueLostStarts(known: taken) }
        // Refill when at least half the slots are free, so that one dequeue round trip starts several jobs.
        if !running.isEmpty, freeSlots < refillThreshold { return .waitForAJobOrADequeue }
        guard let limit = dequeueLimit else { return .waitForAJobOrADequeue }
        return dequeue(limit: limit)
    }

    /// Slots neither busy nor promised to a dequeue on its way.
    private var freeSlots: Int { settings.concurrency - running.count - reserved }

    /// How many jobs the next dequeue may take: the free slots, within what is left of max jobs; nil if none.
    private var dequeueLimit: Int? {
        var limit = freeSlots
        if let maxJobs = settings.maxJobs { limit = min(limit, maxJobs - processed - reserved) }
        return limit > 0 ? limit : nil
    }

    /// How many free slots make a dequeue worth its round trip while others are busy: half of them.
    private var refillThreshold: Int { max(1, settings.concurrency / 2) }

    private mutating func dequeue(limit: Int) -> Step {
        let alone = dequeuesInFlight == 0
        dequeuesInFlight += 1
        reserved += limit
        return .dequeue(limit: limit, mayBlock: alone)
    }

    private mutating func drainFromNowOn() -> Step {
        phase = .draining
        return drain()
    }

    private mutating func drain() -> Step {
        if !running.isEmpty || dequeuesInFlight > 0 { return .waitForAJobOrADequeue }
        if !recording.isEmpty { return .waitForOutcomeWrites }
        phase = .finished
        return .finish
    }

    // MARK: Events

    /// The queues are suspended (`rq suspend`).
    mutating func suspended() {
        isSuspended = true
    }

    /// A dequeue of up to `limit` jobs took these (started in Redis; possibly some whose hash is gone or unreadable
    /// — report those with ``jobDropped(_:)``). They occupy slots until they end.
    mutating func dequeued(_ ids: [String], limit: Int, now: ContinuousClock.Instant) {
        endDequeue(limit: limit)
        running.formUnion(ids)
        processed += ids.count
        lastDequeueFoundNothing = ids.isEmpty
        queuesHaveMore = ids.count >= limit
        if !ids.isEmpty { lastActivity = now }
    }

    /// A dequeue of up to `limit` jobs ended without taking any: the queues are suspended, or Redis failed (and the
    /// failure was ridden out).
    mutating func dequeueAbandoned(limit: Int) {
        endDequeue(limit: limit)
        queuesHaveMore = false
    }

    private mutating func endDequeue(limit: Int) {
        precondition(dequeuesInFlight > 0 && reserved >= limit, "a dequeue ended that was not on its way")
        dequeuesInFlight -= 1
        reserved -= limit
    }

    /// The lost starts are back on their queues.
    mutating func lostStartsRequeued() { startsMayBeLost = false }

    /// A dequeued job is not run: its hash was gone, or unreadable (then failed on the spot). Its slot is free.
    mutating func jobDropped(_ id: String) {
        if running.remove(id) != nil { processed -= 1 }
    }

    /// A job ended (finished, failed, stopped, killed, crashed); its outcome is being written. Its slot is free.
    mutating func jobEnded(_ id: String) {
        if running.remove(id) != nil { recording.insert(id) }
    }

    /// A job's outcome is written.
    mutating func outcomeWritten(_ id: String) {
        recording.remove(id)
    }

    /// A warm shutdown: take no new jobs; let the running ones finish.
    ///
    /// - Returns: whether jobs are running (the worker notes the request in its hash then, as RQ does).
    mutating func warmShutdown() -> Bool {
        guard phase == .running || phase == .initial else { return false }
        phase = .draining
        return !running.isEmpty
    }

    /// A cold shutdown: stop the running jobs now (their outcomes are still written).
    ///
    /// - Returns: the jobs to stop.
    mutating func coldShutdown() -> Set<String> {
        guard phase != .finished else { return [] }
        phase = .stopped
        return running
    }

    /// Whether a stop-job command names a job running here.
    func isRunning(_ id: String) -> Bool { running.contains(id) }

    // MARK: Outages

    enum OutageDecision: Equatable {
        /// Wait this long and try again; `first` on the first failure of an outage (log that Redis went away).
        case retry(after: Duration, first: Bool)
        /// Redis has been away longer than the maximum outage: give up (the worker exits with the error).
        case giveUp
    }

    /// A Redis call failed with a transient error (connection lost, timeout, LOADING, READONLY…).
    ///
    /// - Parameter duringDequeue: the call was a dequeue, which may have started jobs whose reply was lost.
    mutating func redisFailed(duringDequeue: Bool, now: ContinuousClock.Instant) -> OutageDecision {
        if duringDequeue { startsMayBeLost = true }
        let first = outage == nil
        let since = outage?.since ?? now
        if let limit = settings.maximumOutage, now - since > limit { return .giveUp }
        var backoff = outage?.backoff ?? .outage
        let delay = backoff.next()
        outage = (since, backoff)
        return .retry(after: delay, first: first)
    }

    /// A Redis call succeeded.
    ///
    /// - Returns: how long Redis was away, if it was (log that it is back, and check the worker's registration).
    mutating func redisAnswered(now: ContinuousClock.Instant) -> Duration? {
        guard let since = outage?.since else { return nil }
        outage = nil
        return now - since
    }
}
