public import Logging

/// A Redis client over hiredis.
///
/// Ordinary commands share one connection and are pipelined automatically: whatever many tasks send at the same
/// moment goes out in one write. Blocking commands (`BLMOVE`, `BLPOP`, `XREAD BLOCK`) run on dedicated connections
/// from a small pool, so they never hold up the shared one. No call blocks the Swift cooperative thread pool.
///
/// ```swift
/// let redis = try Redis(url: "redis://127.0.0.1:6379/0")
/// try await redis.send("SET", "greeting", "hello")
/// let value = try await redis.send("GET", "greeting").string
/// ```
public actor Redis {
    /// The connection settings.
    public nonisolated let configuration: RedisConfiguration
    nonisolated let logger: Logger
    private nonisolated let shared: RedisConnection
    /// Behind Sentinel, drops the connections when the master moves.
    private nonisolated let sentinelWatcher: SentinelWatcher?
    /// The tasks waiting for stream entries (`job.result()`), served by one blocking read.
    package nonisolated let streamWaiters: StreamWaiters

    /// How many tasks wait for a stream entry (`job.result()`) through this client now.
    @_spi(Benchmarks) public nonisolated var streamWaiterCount: Int { streamWaiters.count }
    private var idleBlocking: [RedisConnection] = []
    private var scriptHashes: [String: String] = [:]
    private var isClosed = false

    private static let multi = RedisCommand("MULTI")
    private static let exec = RedisCommand("EXEC")

    /// How many idle dedicated connections are kept for reuse.
    private let maximumIdleBlockingConnections = 8

    /// Creates a client; the connection is opened by the first command.
    ///
    /// - Parameters:
    ///   - configuration: where the server is and how to connect to it.
    ///   - logger: where the client logs connection events. Defaults to a logger labelled `rq.redis`.
    public init(configuration: RedisConfiguration, logger: Logger = Logger(label: "rq.redis")) {
        self.configuration = configuration
        self.logger = logger
        let watcher = configuration.sentinel.map {
            SentinelWatcher(configuration: configuration, sentinel: $0, logger: logger)
        }
        self.sentinelWatcher = watcher
        var onOpen: (@Sendable () -> Void)?
        if let watcher { onOpen = { watcher.start() } }
        self.shared = RedisConnection(
            configuration: configuration, interruptible: false, logger: logger, onOpen: onOpen)
        self.streamWaiters = StreamWaiters(configuration: configuration, logger: logger)
        if let watcher {
            watcher.watch(shared)
            watcher.watch(streamWaiters.connection)
        }
    }

    /// Creates a client from a URL such as `redis://:secret@127.0.0.1:6379/2` or `unix:///run/redis.sock?db=1`.
    ///
    /// - Parameters:
    ///   - url: a Redis URL in any form ``RedisConfiguration/init(url:)`` accepts.
    ///   - logger: where the client logs connection events. Defaults to a logger labelled `rq.redis`.
    /// - Throws: ``RedisError`` (``RedisError/Code/invalidURL``) naming the bad part of the URL.
    public init(url: String, logger: Logger = Logger(label: "rq.redis")) throws(RedisError) {
        self.init(configuration: try RedisConfiguration(url: url), logger: logger)
    }

    /// Sends one command and returns its reply.
    ///
    /// - Parameter command: the command to send.
    /// - Returns: the server's reply; never ``RedisValue/error(_:)``, which is thrown instead.
    /// - Throws: ``RedisError`` with code ``RedisError/Code/server`` for an error reply, or a connection error
    ///   (``RedisError/Code/connectionFailed``, ``RedisError/Code/connectionLost``, ``RedisError/Code/timeout``,
    ///   ``RedisError/Code/closed``); `CancellationError` if the task is cancelled while the command still waits
    ///   for a connection.
    @discardableResult
    public nonisolated func send(_ command: RedisCommand) async throws -> RedisValue {
        let reply = try await shared.execute([command])[0]
        if case .error(let message) = reply { throw RedisError(.server, "\(command.name): \(message)") }
        return reply
    }

    /// Sends one command given as a name and arguments; see ``send(_:)``.
    ///
    /// - Parameters:
    ///   - name: the command name, e.g. `"HGET"`.
    ///   - arguments: the command's arguments, each encoded as a bulk string.
    /// - Returns: the server's reply.
    /// - Throws: what ``send(_:)`` throws.
    @discardableResult
    public nonisolated func send(_ name: String, _ arguments: any RedisArgument...) async throws -> RedisValue {
        try await send(RedisCommand(name, arguments: arguments))
    }

    /// Sends several commands in one write and returns every reply in order; error replies are returned in place.
    ///
    /// - Parameter commands: the commands, sent in this order.
    /// - Returns: one reply per command, in order; an error reply is a ``RedisValue/error(_:)`` value, not thrown.
    /// - Throws: ``RedisError`` for a connection error (the commands may or may not have run), or
    ///   `CancellationError` if the task is cancelled while the commands still wait for a connection.
    public nonisolated func pipeline(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        return try await shared.execute(commands)
    }

    /// Runs the commands as one `MULTI`/`EXEC` transaction, sent in one write, and returns the results of the
    /// commands.
    ///
    /// - Parameter commands: the commands to run inside `MULTI`/`EXEC`, in order.
    /// - Returns: the result of each command, in order (the replies to `MULTI` and to the queueing are dropped).
    /// - Throws: ``RedisError`` with code ``RedisError/Code/server`` if a command was refused while queueing (the
    ///   transaction is then discarded by Redis) or if a command inside the transaction failed; a connection error
    ///   as ``send(_:)`` throws it.
    @discardableResult
    public nonisolated func transaction(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        let results = try await transactionResults(commands)
        for (index, result) in results.enumerated() {
            if case .error(let message) = result {
                throw RedisError(.server, "transaction command \(commands[index].name) failed: \(message)")
            }
        }
        return results
    }

    /// The SHA1 of a script loaded into the server (loaded now if this client has not loaded it yet), for use
    /// inside a transaction.
    package func scriptHash(_ script: RedisScript) async throws -> String {
        if let known = scriptHashes[script.cacheKey] { return known }
        guard let loaded = try await send("SCRIPT", "LOAD", script.source).string else {
            throw RedisError(.protocolError, "SCRIPT LOAD returned no hash")
        }
        scriptHashes[script.cacheKey] = loaded
        return loaded
    }

    /// Like ``transaction(_:)``, but an error reply from a command inside the transaction is returned in place
    /// rather than thrown (the other commands did run).
    package nonisolated func transactionResults(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        var batch = [Self.multi]
        batch.reserveCapacity(commands.count + 2)
        batch += commands
        batch.append(Self.exec)
        let replies = try await shared.execute(batch)
        for (index, reply) in replies.enumerated() {
            if case .error(let message) = reply {
                let name = index == 0 ? "MULTI" : index <= commands.count ? commands[index - 1].name : "EXEC"
                throw RedisError(.server, "transaction failed at \(name): \(message)")
            }
        }
        guard let results = replies.last?.array else { throw RedisError(.server, "transaction was aborted") }
        return results
    }

    /// Runs a Lua script with `EVALSHA`, loading it first (and again after a `NOSCRIPT` reply, e.g. when the server
    /// restarted or its script cache was flushed).
    @discardableResult
    package func evaluate(_ script: RedisScript, keys: [String] = [], arguments: [any RedisArgument] = []) async throws
        -> RedisValue
    {
        for attempt in 0..<2 {
            if attempt > 0 { scriptHashes[script.cacheKey] = nil }  // NOSCRIPT: the server lost it; load it again.
            let sha = try await scriptHash(script)
            let reply = try await shared.execute([
                RedisCommand("EVALSHA", arguments: [sha, keys.count] + keys + arguments)
            ])[0]
            if case .error(let message) = reply {
                if message.hasPrefix("NOSCRIPT") && attempt == 0 { continue }
                throw RedisError(.server, "script \(script.name): \(message)")
            }
            return reply
        }
        throw RedisError(.server, "script \(script.name) could not be loaded")
    }

    /// Sends a blocking command (`BLPOP`, `BLMOVE`, `XREAD BLOCK`, …) on a dedicated connection.
    ///
    /// - Parameters:
    ///   - command: the command.
    ///   - blockingFor: how long the command itself may block; the reply timeout is this plus the command timeout.
    /// - Throws: `CancellationError` if the task is cancelled while it waits (the connection is then dropped).
    @discardableResult
    package func sendBlocking(_ command: RedisCommand, blockingFor: Duration) async throws -> RedisValue {
        try await sendBlocking(command, blockingFor: blockingFor, then: { _ in [] })[0]
    }

    /// Sends a blocking command on a dedicated connection and, the moment its reply arrives, the commands
    /// `followUp` makes from it, written by the connection's thread without a hop through the caller (a worker
    /// uses this to start the job a blocking pop returned one thread wake-up sooner).
    ///
    /// - Returns: the blocking command's reply followed by the follow-up commands' replies (error replies in
    ///   place); only the first if `followUp` returned no commands.
    package func sendBlocking(
        _ command: RedisCommand, blockingFor: Duration,
        then followUp: @escaping @Sendable (RedisValue) -> [RedisCommand]
    ) async throws -> [RedisValue] {
        let connection = try checkOutBlocking()
        do {
            let replies = try await connection.execute(
                [command], timeout: blockingFor + configuration.commandTimeout, followUp: { followUp($0[0]) })
            checkIn(connection)
            if case .error(let message) = replies[0] { throw RedisError(.server, "\(command.name): \(message)") }
            return replies
        } catch let error as RedisError where error.code == .server {
            throw error
        } catch {
            connection.close()
            throw error
        }
    }

    /// Closes every connection. Commands already sent complete; later ones fail with ``RedisError/Code/closed``.
    public func close() {
        isClosed = true
        shared.close()
        streamWaiters.close()
        sentinelWatcher?.stop()
        for connection in idleBlocking { connection.close() }
        idleBlocking.removeAll()
    }

    private func checkOutBlocking() throws(RedisError) -> RedisConnection {
        if isClosed { throw RedisError(.closed, "the Redis client was closed") }
        if let connection = idleBlocking.popLast() { return connection }
        var dedicated = configuration
        dedicated.clientName = nil
        let connection = RedisConnection(configuration: dedicated, interruptible: true, logger: logger)
        sentinelWatcher?.watch(connection)
        return connection
    }

    private func checkIn(_ connection: RedisConnection) {
        if isClosed || idleBlocking.count >= maximumIdleBlockingConnections {
            connection.close()
        } else {
            idleBlocking.append(connection)
        }
    }
}

/// A Lua script run with ``Redis/evaluate(_:keys:arguments:)``.
package struct RedisScript: Sendable, Hashable {
    /// A short name for error messages.
    package let name: String
    /// The Lua source.
    package let source: String

    /// Identifies the script in this process's hash cache without hashing the whole source on every call.
    let cacheKey: String

    package init(name: String, source: String) {
        self.name = name
        self.source = source
        self.cacheKey = "\(name)#\(source.utf8.count)#\(source.hashValue)"
    }
}
