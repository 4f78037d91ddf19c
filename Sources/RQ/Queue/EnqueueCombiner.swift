import Synchronization

/// Joins enqueues that arrive while others are on their way to Redis into one transaction (a "group commit").
///
/// Up to ``depth`` transactions are outstanding at once; an enqueue that finds fewer sends its job at once, alone.
/// Enqueues that arrive while ``depth`` are outstanding wait; when one is answered, the first of them sends all of
/// them as one `MULTI`/`EXEC` (one `SADD` of the queue, each job's hash, one `RPUSH`/`LPUSH` of the ids in order)
/// and hands the next turn on the same way, so every caller sends at most one transaction. Two outstanding keep
/// Redis busy: the next transaction is already queued on the connection when the one before it is answered, and the
/// connection's thread writes it before any caller wakes up. Only new jobs with generated ids come here: their hash
/// writes cannot fail one by one, so a transaction succeeds or fails for all its jobs together.
final class EnqueueCombiner: Sendable {
    /// One job's writes, ready to send.
    struct Entry: Sendable {
        let id: String
        let atFront: Bool
        /// The job hash and its expiry, without the queue push.
        let commands: [RedisCommand]
    }

    /// What a waiting enqueue is told when its turn comes.
    private enum Turn: Sendable {
        case done
        case failed(any Error)
        /// Send these (the first is the receiver's own job), then hand on the next turn.
        case lead([Waiter])
    }

    private struct Waiter: Sendable {
        let entry: Entry
        let continuation: CheckedContinuation<Turn, Never>?
    }

    private struct State: ~Copyable {
        var outstanding = 0
        var waiting: [Waiter] = []

        /// Takes a transaction slot if one is free.
        mutating func claimSlot() -> Bool {
            guard outstanding < EnqueueCombiner.depth else { return false }
            outstanding += 1
            return true
        }
    }

    /// How many transactions may be outstanding at once.
    static let depth = 2

    private let state = Mutex(State())

    /// Writes the job and pushes its id onto `queueKey`, alone or together with concurrent enqueues.
    func enqueue(_ entry: Entry, queueKey: String, redis: Redis) async throws {
        let leadsAtOnce = state.withLock { $0.claimSlot() }
        let turn: Turn
        if leadsAtOnce {
            turn = .lead([Waiter(entry: entry, continuation: nil)])
        } else {
            turn = await withCheckedContinuation { continuation in
                let leads = state.withLock { state -> Bool in
                    if state.claimSlot() { return true }  // One outstanding was answered meanwhile.
                    state.waiting.append(Waiter(entry: entry, continuation: continuation))
                    return false
                }
                if leads { continuation.resume(returning: .lead([Waiter(entry: entry, continuation: nil)])) }
            }
        }
        switch turn {
        case .done:
            return
        case .failed(let error):
            throw error
        case .lead(let batch):
            let outcome: Result<Void, any Error>
            do {
                try await redis.transaction(Self.transaction(batch.map(\.entry), queueKey: queueKey))
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            let next = state.withLock { state -> [Waiter]? in
                guard !state.waiting.isEmpty else {
                    state.outstanding -= 1
                    return nil
                }
                defer { state.waiting.removeAll(keepingCapacity: true) }
                return state.waiting
            }
            if let next, let first = next.first?.continuation { first.resume(returning: .lead(next)) }
            for waiter in batch.dropFirst() {
                switch outcome {
                case .success: waiter.continuation?.resume(returning: .done)
                case .failure(let error): waiter.continuation?.resume(returning: .failed(error))
                }
            }
            try outcome.get()
        }
    }

    /// One transaction for the batch: the queue registered once, every job's hash, one push of the ids that leaves
    /// the list as pushing each in turn would.
    static func transaction(_ entries: [Entry], queueKey: String) -> [RedisCommand] {
        var commands = [RedisCommand("SADD", RQKeys.queues, queueKey)]
        for entry in entries { commands += entry.commands }
        return commands + Queue.pushCommands(entries.map { ($0.id, $0.atFront) }, queueKey: queueKey)
    }
}
