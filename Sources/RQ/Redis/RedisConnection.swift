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

/// One connection to Redis, served by a thread of its own.
///
/// Callers never touch the socket: `execute` appends a batch of encoded commands to a queue and suspends. The
/// connection's thread takes *every* batch waiting at that moment, hands them to hiredis as one buffer (one write),
/// and reads the replies in order. So commands from many tasks are pipelined automatically, and hiredis' blocking
/// calls only ever block this thread, never the Swift cooperative pool.
///
/// A broken connection fails the commands in flight with ``RedisError/Code/connectionLost``; the next batch
/// reconnects, retrying with exponential backoff until the connect timeout.
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
    func execute(_ commands: [RedisCommand], timeout: Duration? = nil) async throws -> [RedisValue] {
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
                        id: id, payload: payload, replyCount: commands.count, timeout: timeout,
                        continuation: continuation))
            }
        } onCancel: {
            core.cancel(id)
        }
    }

    /// Stops the thread after the batches already queued; later calls fail with ``RedisError/Code/closed``.
    func close() { core.close() }

    struct Request {
        let id: UInt64
        let payload: [UInt8]
        let replyCount: Int
        let timeout: Duration?
        let continuation: UnsafeContinuation<[RedisValue], any Error>
    }

    /// The state shared by callers and the connection thread, guarded by `condition`.
    final class Core: @unchecked Sendable {
        let configuration: RedisConfiguration
        let interruptible: Bool
        let logger: Logger
        private let condition = ThreadCondition()
        private var pending: [Request] = []
        private var inFlight: Set<UInt64> = []
        private var isClosed = false
        private var threadStarted = false
        private var requestCounter: UInt64 = 0
        private var socket: Int32 = -1
        private var interrupted = false
        // Owned by the connection thread only.
        private var context: HiredisContext?
        private var currentTimeout: Duration?

        init(configuration: RedisConfiguration, interruptible: Bool, logger: Logger) {
            self.configuration = configuration
            self.interruptible = interruptible
            self.logger = logger
        }

        func nextRequestID() -> UInt64 {
            condition.lock()
            defer { condition.unlock() }
            requestCounter &+= 1
            return requestCounter
        }

        func submit(_ request: Request) {
            condition.lock()
            if isClosed {
                condition.unlock()
                request.continuation.resume(throwing: RedisError(.closed, "the Redis client was closed"))
                return
            }
            pending.append(request)
            let start = !threadStarted
            threadStarted = true
            condition.signal()
            condition.unlock()
            if start { BlockingThread.start(name: "rq-redis") { self.run() } }
        }

        /// Cancels a request: a queued one is dropped; one in flight on an interruptible (dedicated) connection is
        /// interrupted by shutting the socket down, which fails its blocking read at once.
        func cancel(_ id: UInt64) {
            condition.lock()
            if let index = pending.firstIndex(where: { $0.id == id }) {
                let request = pending.remove(at: index)
                condition.unlock()
                request.continuation.resume(throwing: CancellationError())
                return
            }
            if interruptible, inFlight.contains(id), socket >= 0 {
                interrupted = true
                _ = shutdown(socket, Int32(SHUT_RDWR))
            }
            condition.unlock()
        }

        func close() {
            condition.lock()
            isClosed = true
            condition.signal()
            condition.unlock()
        }

        func run() {
            while true {
                condition.lock()
                while pending.isEmpty && !isClosed { condition.wait() }
                if pending.isEmpty && isClosed {
                    condition.unlock()
                    break
                }
                let batch = pending
                pending.removeAll(keepingCapacity: true)
                for request in batch { inFlight.insert(request.id) }
                condition.unlock()
                process(batch)
                condition.lock()
                inFlight.removeAll(keepingCapacity: true)
                condition.unlock()
            }
            context = nil
        }

        private func process(_ batch: [Request]) {
            let context: HiredisContext
            do {
                context = try connected()
            } catch {
                for request in batch { request.continuation.resume(throwing: error) }
                return
            }
            RedisRoundTrips.record()
            let timeout = batch.compactMap(\.timeout).max() ?? configuration.commandTimeout
            if timeout != currentTimeout {
                context.setTimeout(timeout)
                currentTimeout = timeout
            }
            var failure: RedisError?
            for request in batch {
                do { try context.append(request.payload) } catch {
                    failure = error
                    break
                }
            }
            for request in batch {
                if let failure {
                    request.continuation.resume(throwing: failure)
                    continue
                }
                var replies: [RedisValue] = []
                replies.reserveCapacity(request.replyCount)
                do {
                    for _ in 0..<request.replyCount { replies.append(try context.readReply()) }
                    request.continuation.resume(returning: replies)
                } catch {
                    failure = error
                    request.continuation.resume(throwing: takeInterruption() ? CancellationError() : error)
                }
            }
            if failure != nil { disconnect() }
        }

        private func takeInterruption() -> Bool {
            condition.lock()
            defer { condition.unlock() }
            let value = interrupted
            interrupted = false
            return value
        }

        private func disconnect() {
            condition.lock()
            socket = -1
            condition.unlock()
            context = nil
            currentTimeout = nil
        }

        /// The live context, connecting (with backoff) if there is none.
        private func connected() throws(RedisError) -> HiredisContext {
            if let context { return context }
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: configuration.connectTimeout)
            var delay = Duration.milliseconds(10)
            while true {
                let remaining = clock.now.duration(to: deadline)
                do {
                    let fresh = try HiredisContext.connect(to: configuration.endpoint, timeout: remaining)
                    fresh.setTimeout(configuration.commandTimeout)
                    currentTimeout = configuration.commandTimeout
                    try handshake(fresh)
                    condition.lock()
                    socket = fresh.fileDescriptor
                    interrupted = false
                    condition.unlock()
                    context = fresh
                    return fresh
                } catch  where error.code == .server {
                    throw error  // Wrong password or database: retrying will not help.
                } catch {
                    if clock.now.advanced(by: delay) >= deadline || isClosedNow() { throw error }
                    logger.debug("redis connect retry", metadata: ["rq.redis": "\(configuration.endpoint)"])
                    BlockingThread.sleep(seconds: delay.inSeconds)
                    delay = min(delay * 2, .milliseconds(500))
                }
            }
        }

        private func isClosedNow() -> Bool {
            condition.lock()
            defer { condition.unlock() }
            return isClosed
        }

        private func handshake(_ context: HiredisContext) throws(RedisError) {
            var commands = configuration.authenticationCommands
            if configuration.database != 0 { commands.append(RedisCommand("SELECT", configuration.database)) }
            if let name = configuration.clientName { commands.append(RedisCommand("CLIENT", "SETNAME", name)) }
            for command in commands { try context.append(command.encoded) }
            for command in commands {
                if case .error(let message) = try context.readReply() {
                    throw RedisError(
                        .server, "Redis at \(configuration.endpoint) refused \(command.name): \(message)")
                }
            }
        }
    }
}
