import Logging
import Synchronization

/// Listens to the sentinels' `+switch-master` announcements for one master and drops the connections of a client
/// when it moves, so their next commands find the new master at once — also when the old master is alive and
/// demoted (a manual `SENTINEL FAILOVER`, a healed partition), which would otherwise go on answering reads.
///
/// The subscription lives on a persistent ``RedisConnection`` to the first sentinel that answers; it reconnects
/// (trying the sentinels in turn) for as long as the client lives. It starts with the client's first connection.
final class SentinelWatcher: Sendable {
    private let configuration: RedisConfiguration
    private let sentinel: SentinelConfiguration
    private let logger: Logger
    private let state = Mutex<(started: Bool, stopped: Bool, connection: RedisConnection?)>((false, false, nil))
    /// The client's connections, dropped when the master moves.
    private let connections = Mutex<[WeakConnection]>([])

    private struct WeakConnection: @unchecked Sendable {
        weak var connection: RedisConnection?
    }

    init(configuration: RedisConfiguration, sentinel: SentinelConfiguration, logger: Logger) {
        self.configuration = configuration
        self.sentinel = sentinel
        self.logger = logger
    }

    /// Drops `connection` too when the master moves.
    func watch(_ connection: RedisConnection) {
        connections.withLock { list in
            list.removeAll { $0.connection == nil }
            list.append(WeakConnection(connection: connection))
        }
    }

    /// Subscribes, unless it has already.
    func start() {
        let start = state.withLock { state -> Bool in
            guard !state.started, !state.stopped else { return false }
            state.started = true
            return true
        }
        guard start else { return }
        let opener = TransportOpener(configuration: configuration)
        let sentinel = self.sentinel
        let turn = Atomic<Int>(0)
        let connection = RedisConnection(
            persistent: configuration, logger: logger,
            opener: { timeout throws(RedisError) in
                // One sentinel per try, in turn, so one that is down does not stop the announcements.
                let index = turn.add(1, ordering: .relaxed).oldValue % sentinel.sentinels.count
                let address = sentinel.sentinels[index]
                let (context, transport) = try opener.openSentinel(address, sentinel, timeout: timeout)
                let replies = try opener.exchange(
                    [RedisCommand("SUBSCRIBE", "+switch-master")], context: context, transport: transport,
                    deadline: .now + timeout)
                if case .error(let message) = replies.first {
                    throw RedisError(.server, "sentinel at \(address) refused SUBSCRIBE: \(message)")
                }
                return (context, transport)
            },
            onPushes: { [weak self] replies in self?.handle(replies) })
        let stopped = state.withLock { state -> Bool in
            state.connection = connection
            return state.stopped
        }
        if stopped { connection.close() }
    }

    /// Ends the subscription.
    func stop() {
        let connection = state.withLock { state -> RedisConnection? in
            state.stopped = true
            return state.connection
        }
        connection?.close()
        connection?.dropConnection(reason: "the client was closed")
    }

    /// `+switch-master` messages read `<master name> <old ip> <old port> <new ip> <new port>`.
    private func handle(_ replies: [RedisValue]) {
        for reply in replies {
            guard let parts = reply.array, parts.count == 3, parts[0].string == "message",
                let text = parts[2].string
            else { continue }
            let words = text.split(separator: " ")
            guard words.count == 5, words[0] == sentinel.masterName else { continue }
            logger.info(
                "redis master moved",
                metadata: [
                    "rq.master": "\(sentinel.masterName)", "rq.from": "\(words[1]):\(words[2])",
                    "rq.to": "\(words[3]):\(words[4])",
                ])
            let reason = "the sentinels moved master '\(sentinel.masterName)' to \(words[3]):\(words[4])"
            for entry in connections.withLock({ $0 }) { entry.connection?.dropConnection(reason: reason) }
        }
    }
}
