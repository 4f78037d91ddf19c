import Logging

/// A `SUBSCRIBE` to one channel on a persistent ``RedisConnection`` of its own, delivering message payloads as a
/// stream. The connection subscribes as part of opening, so after a lost connection it reconnects (with
/// ``Backoff/outage``) and subscribes again, until ``stop()``.
final class RedisSubscriber: Sendable {
    /// The payloads published on the channel.
    let messages: AsyncStream<[UInt8]>
    private let continuation: AsyncStream<[UInt8]>.Continuation
    private let connection: RedisConnection

    init(configuration: RedisConfiguration, channel: String, logger: Logger) {
        let (messages, continuation) = AsyncStream.makeStream(
            of: [UInt8].self, bufferingPolicy: .bufferingNewest(64))
        self.messages = messages
        self.continuation = continuation
        connection = RedisConnection(
            persistent: configuration, logger: logger,
            opener: TransportOpener(configuration: configuration).subscribing(to: channel),
            onPushes: { replies in
                for reply in replies {
                    if let parts = reply.array, parts.count == 3, parts[0].string == "message",
                        let payload = parts[2].bytes
                    {
                        continuation.yield(payload)
                    }
                }
            })
    }

    /// Unsubscribes and ends the stream.
    func stop() {
        connection.close()
        connection.dropConnection(reason: "the subscriber stopped")
        continuation.finish()
    }
}

extension TransportOpener {
    /// An opener for a persistent connection that subscribes to `channel` once connected.
    func subscribing(to channel: String) -> RedisConnection.Opener {
        { timeout throws(RedisError) in
            let (context, transport) = try self.open(timeout: timeout)
            let replies = try self.exchange(
                [RedisCommand("SUBSCRIBE", channel)], context: context, transport: transport,
                deadline: .now + self.configuration.commandTimeout)
            if case .error(let message) = replies.first {
                throw RedisError(.server, "Redis at \(context.endpoint) refused SUBSCRIBE: \(message)")
            }
            return (context, transport)
        }
    }
}
