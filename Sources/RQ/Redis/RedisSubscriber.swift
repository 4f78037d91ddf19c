import FoundationEssentials
import Glibc
import Logging
import Synchronization

/// A `SUBSCRIBE` to one channel on a connection and thread of its own, delivering message payloads as a stream.
///
/// The subscription reconnects (and subscribes again) after a lost connection, until ``stop()``.
final class RedisSubscriber: Sendable {
    /// The payloads published on the channel.
    let messages: AsyncStream<[UInt8]>
    private let continuation: AsyncStream<[UInt8]>.Continuation
    private let state = Mutex<(stopped: Bool, socket: Int32)>((false, -1))

    init(configuration: RedisConfiguration, channel: String, logger: Logger) {
        (messages, continuation) = AsyncStream.makeStream(of: [UInt8].self, bufferingPolicy: .bufferingNewest(64))
        BlockingThread.start(name: "rq-pubsub") { [self] in
            self.loop(configuration: configuration, channel: channel, logger: logger)
        }
    }

    /// Unsubscribes and ends the stream.
    func stop() {
        let socket = state.withLock { state -> Int32 in
            state.stopped = true
            return state.socket
        }
        if socket >= 0 { _ = shutdown(socket, Int32(SHUT_RDWR)) }
        continuation.finish()
    }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    private func loop(configuration: RedisConfiguration, channel: String, logger: Logger) {
        let opener = TransportOpener(configuration: configuration)
        var backoff = Backoff(first: .milliseconds(50), cap: .seconds(2))
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while !isStopped {
            do throws(RedisError) {
                let (context, transport) = try opener.open(timeout: configuration.connectTimeout)
                _ = try opener.exchange(
                    [RedisCommand("SUBSCRIBE", channel)], context: context, transport: transport,
                    deadline: .now + configuration.commandTimeout)
                // A subscriber waits indefinitely; stop() interrupts the read by shutting the socket down.
                context.setTimeout(.seconds(86_400 * 365))
                let stopped = state.withLock { state -> Bool in
                    state.socket = context.fileDescriptor
                    return state.stopped
                }
                if stopped { return }
                backoff.reset()
                while true {
                    while let reply = try context.nextReply() {
                        if let parts = reply.array, parts.count == 3, parts[0].string == "message",
                            let payload = parts[2].bytes
                        {
                            continuation.yield(payload)
                        }
                    }
                    let count = transport.receive(into: &buffer, waiting: .seconds(3600))
                    if count == 0 {
                        throw RedisError(.connectionLost, "Redis at \(context.endpoint) closed the connection")
                    }
                    if count < 0 {
                        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                        throw RedisError(
                            .connectionLost,
                            "connection to Redis at \(context.endpoint) lost: "
                                + (transport.tlsError ?? String(cString: strerror(errno))))
                    }
                    try context.feed(buffer, count: count)
                }
            } catch {
                if isStopped { return }
                logger.debug("pubsub reconnect", metadata: ["rq.channel": "\(channel)", "error": "\(error)"])
                BlockingThread.sleep(seconds: backoff.next().inSeconds)
            }
        }
    }
}
