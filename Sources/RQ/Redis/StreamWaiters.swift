import FoundationEssentials
import Logging
import Synchronization

/// Every task of one client that waits for the next entry of a stream — `job.result()` waits on its job's result
/// stream — served by one blocking connection: a single `XREAD BLOCK` over all the awaited streams at once,
/// re-armed as waiters come and go. A thousand waiting tasks hold one connection and one thread, not a thousand.
///
/// A waiter that joins while the read is blocked wakes it with an entry on a wake stream of this client's own
/// (`rq:swift-rq:wake:{id}`, one entry, expiring a minute after the last wake) that the read always includes, so the
/// new stream is read at once; joins that come together share one wake. Each waiter gives the entry id after which
/// it waits, so an entry written between a waiter's own check and the re-armed read is not missed.
package final class StreamWaiters: Sendable {
    private struct Waiter {
        let stream: String
        let after: StreamID
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<RedisValue?, any Error>
    }

    private struct State {
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
        var loopRunning = false
        /// The read in flight was armed before the newest waiters joined; a wake is on its way or not needed.
        var readInFlight = false
        var wakeSent = false
        /// The newest wake entry the loop has seen.
        var wakeSeen = "0-0"
    }

    private let state = Mutex(State())
    /// The blocking read's own connection (opened by its first read), so a reply resumes the reading task directly.
    let connection: RedisConnection
    private let commandTimeout: Duration
    private let wakeKey = "rq:swift-rq:wake:\(RandomID.hex32())"
    /// The longest single block, so that a lost wake or a slow clock never leaves a waiter stranded.
    private let maximumBlock = Duration.seconds(5)

    init(configuration: RedisConfiguration, logger: Logger) {
        var dedicated = configuration
        dedicated.clientName = nil
        connection = RedisConnection(configuration: dedicated, interruptible: false, logger: logger)
        commandTimeout = configuration.commandTimeout
    }

    /// Closes the connection; reads already sent complete.
    func close() { connection.close() }

    /// How many tasks wait now.
    package var count: Int { state.withLock { $0.waiters.count } }

    /// Waits at most `timeout` for the first entry of `stream` with an id after `after` (`"0-0"`: any entry).
    ///
    /// - Returns: the entry (`[id, [field, value, …]]`), or nil when the time is up.
    /// - Throws: the connection's error if the shared read fails; `CancellationError` if the task is cancelled.
    func next(stream: String, after: String, timeout: Duration, on redis: Redis) async throws -> RedisValue? {
        let deadline = ContinuousClock.now + timeout
        let position = StreamID(after) ?? StreamID(milliseconds: 0, sequence: 0)
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let (startLoop, wake) = state.withLock { state -> (Bool, Bool) in
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                        return (false, false)
                    }
                    state.waiters[id] = Waiter(
                        stream: stream, after: position, deadline: deadline, continuation: continuation)
                    if !state.loopRunning {
                        state.loopRunning = true
                        return (true, false)
                    }
                    guard state.readInFlight, !state.wakeSent else { return (false, false) }
                    state.wakeSent = true
                    return (false, true)
                }
                if startLoop { Task { await self.loop(redis) } }
                if wake { Task { await self.wake(redis) } }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    private func wake(_ redis: Redis) async {
        _ = try? await redis.pipeline([
            RedisCommand("XADD", wakeKey, "MAXLEN", 1, "*", "wake", 1), RedisCommand("EXPIRE", wakeKey, 60),
        ])
    }

    /// Reads for the waiters until there are none, then ends (the next waiter starts it again).
    private func loop(_ redis: Redis) async {
        while true {
            // The streams to read, each from the earliest position a waiter waits after; the block lasts until the
            // nearest deadline.
            let now = ContinuousClock.now
            var expired: [Waiter] = []
            let (streams, block, wakeSeen) = state.withLock { state -> ([(String, StreamID)], Duration, String) in
                for (id, waiter) in state.waiters where waiter.deadline <= now {
                    expired.append(waiter)
                    state.waiters[id] = nil
                }
                guard !state.waiters.isEmpty else {
                    state.loopRunning = false
                    state.readInFlight = false
                    return ([], .zero, "")
                }
                var earliest: [String: StreamID] = [:]
                var nearest = now + maximumBlock
                for waiter in state.waiters.values {
                    earliest[waiter.stream] = min(earliest[waiter.stream] ?? waiter.after, waiter.after)
                    nearest = min(nearest, waiter.deadline)
                }
                state.readInFlight = true
                state.wakeSent = false
                return (earliest.sorted { $0.key < $1.key }, nearest - now, state.wakeSeen)
            }
            for waiter in expired { waiter.continuation.resume(returning: nil) }
            if streams.isEmpty { return }
            let milliseconds = max(1, block.wholeMilliseconds)
            let command = RedisCommand(
                "XREAD",
                arguments: ["COUNT", 1, "BLOCK", milliseconds, "STREAMS"] + streams.map(\.0) + [wakeKey]
                    + streams.map { $0.1.description } + [wakeSeen])
            do {
                // The waiters are resumed by the connection's own thread the moment the reply arrives, without a
                // hop through this task first (the connection runs a follow-up that way when nothing else is in
                // flight, as on this connection of its own; if it ever did not, the reply is delivered here).
                let delivered = Mutex(false)
                let reply = try await connection.execute(
                    [command], timeout: .milliseconds(milliseconds) + commandTimeout,
                    followUp: { [self] replies in
                        if case .error = replies[0] { return [] }
                        deliver(replies[0])
                        delivered.withLock { $0 = true }
                        return []
                    })[0]
                if case .error(let message) = reply { throw RedisError(.server, "XREAD: \(message)") }
                if !delivered.withLock({ $0 }) { deliver(reply) }
            } catch {
                // The read failed (the connection was lost, say): every waiter hears of it and may wait again.
                let failed = state.withLock { state -> [Waiter] in
                    defer { state.waiters.removeAll() }
                    state.loopRunning = false
                    state.readInFlight = false
                    return Array(state.waiters.values)
                }
                for waiter in failed { waiter.continuation.resume(throwing: error) }
                return
            }
        }
    }

    /// Hands each stream's entry to the waiters it is new to. Reply: `[[stream, [[id, fields]]], …]` or nil.
    private func deliver(_ reply: RedisValue) {
        var entries: [String: (StreamID, RedisValue)] = [:]
        var newestWake: String?
        for stream in reply.array ?? [] {
            guard let parts = stream.array, parts.count == 2, let key = parts[0].string,
                let entry = parts[1].array?.first, let idText = entry.array?.first?.string,
                let entryID = StreamID(idText)
            else { continue }
            if key == wakeKey {
                newestWake = idText
            } else {
                entries[key] = (entryID, entry)
            }
        }
        let ready = state.withLock { state -> [(CheckedContinuation<RedisValue?, any Error>, RedisValue)] in
            if let newestWake { state.wakeSeen = newestWake }
            var ready: [(CheckedContinuation<RedisValue?, any Error>, RedisValue)] = []
            for (id, waiter) in state.waiters {
                guard let (entryID, entry) = entries[waiter.stream], waiter.after < entryID else { continue }
                ready.append((waiter.continuation, entry))
                state.waiters[id] = nil
            }
            return ready
        }
        for (continuation, entry) in ready { continuation.resume(returning: entry) }
    }
}

/// A stream entry id, `milliseconds-sequence`, ordered as Redis orders them.
struct StreamID: Comparable, Sendable, CustomStringConvertible {
    let milliseconds: UInt64
    let sequence: UInt64

    init(milliseconds: UInt64, sequence: UInt64) {
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count <= 2, let milliseconds = UInt64(parts[0]) else { return nil }
        self.milliseconds = milliseconds
        if parts.count == 2 {
            guard let sequence = UInt64(parts[1]) else { return nil }
            self.sequence = sequence
        } else {
            sequence = 0
        }
    }

    var description: String { "\(milliseconds)-\(sequence)" }

    static func < (lhs: StreamID, rhs: StreamID) -> Bool {
        (lhs.milliseconds, lhs.sequence) < (rhs.milliseconds, rhs.sequence)
    }
}
