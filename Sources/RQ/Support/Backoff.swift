/// Capped exponential backoff: the waits between tries of something that may work later (a reconnect, a write
/// during an outage), each twice the one before, up to a cap.
///
/// ```swift
/// var backoff = Backoff(first: .milliseconds(100), cap: .seconds(5))
/// try await Task.sleep(for: backoff.next())   // 0.1 s, then 0.2, 0.4 … 5, 5
/// ```
struct Backoff: Sendable, Hashable {
    let first: Duration
    let cap: Duration
    private var upcoming: Duration

    init(first: Duration, cap: Duration) {
        self.first = first
        self.cap = cap
        upcoming = min(first, cap)
    }

    /// The next wait; the one after it is twice as long, up to the cap.
    mutating func next() -> Duration {
        defer { upcoming = min(upcoming * 2, cap) }
        return upcoming
    }

    /// Back to the first wait, after a success.
    mutating func reset() { upcoming = min(first, cap) }

    /// Waits of 0.1 s doubling to 5 s: how the worker, result waits and subscribers ride out an outage.
    static let outage = Backoff(first: .milliseconds(100), cap: .seconds(5))
}
