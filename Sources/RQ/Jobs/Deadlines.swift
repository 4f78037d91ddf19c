import Synchronization

/// One clock for every job timeout in the process.
///
/// A `Task.sleep` per running job would leave a dispatch timer behind for each job even after the job ended early
/// (a worker doing 1,000 jobs a second with RQ's 180 s default would carry 180,000 dead timers). Instead, deadlines
/// are kept here and one ticker task, running only while deadlines are pending, fires the due ones every 50 ms —
/// ample for timeouts counted in whole seconds.
final class Deadlines: Sendable {
    static let shared = Deadlines()

    private struct State {
        var next: UInt64 = 0
        var pending: [UInt64: (deadline: ContinuousClock.Instant, fire: @Sendable () -> Void)] = [:]
        var tickerRunning = false
    }
    private let state = Mutex(State())
    private let tick = Duration.milliseconds(50)

    /// Calls `fire` once `delay` has passed, unless ``cancel(_:)`` comes first; returns the token to cancel with.
    func schedule(after delay: Duration, _ fire: @escaping @Sendable () -> Void) -> UInt64 {
        let deadline = ContinuousClock.now.advanced(by: delay)
        let (token, startTicker) = state.withLock { state -> (UInt64, Bool) in
            state.next &+= 1
            state.pending[state.next] = (deadline, fire)
            let start = !state.tickerRunning
            state.tickerRunning = true
            return (state.next, start)
        }
        if startTicker { Task.detached { await self.run() } }
        return token
    }

    func cancel(_ token: UInt64) {
        _ = state.withLock { $0.pending.removeValue(forKey: token) }
    }

    private func run() async {
        while true {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let (due, keepGoing) = state.withLock { state -> ([@Sendable () -> Void], Bool) in
                var due: [@Sendable () -> Void] = []
                for (token, entry) in state.pending where entry.deadline <= now {
                    due.append(entry.fire)
                    state.pending[token] = nil
                }
                if state.pending.isEmpty { state.tickerRunning = false }
                return (due, !state.pending.isEmpty)
            }
            for fire in due { fire() }
            if !keepGoing { return }
        }
    }
}
