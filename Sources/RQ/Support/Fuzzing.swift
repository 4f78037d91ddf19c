/// Entry points for the libFuzzer targets in `Fuzz/` (a package of its own): each takes arbitrary bytes, runs one
/// decoder of untrusted input over them and throws away the result. A decoder may reject its input with an error;
/// it must never crash, hang or run out of memory.
@_spi(Fuzzing) public enum Fuzzing {
    /// The client a decoded job keeps; never connected (a client opens its connection at its first command).
    private static let redis = Redis(configuration: RedisConfiguration())

    /// Parses `bytes` as RESP replies with hiredis' reply parser, as a connection does, and drains every complete
    /// reply (reading each as a hash's field pairs too); returns how many it read before the end or the first
    /// protocol error.
    @discardableResult
    public static func parseReplies(_ bytes: [UInt8]) -> Int {
        guard let context = HiredisContext.parserOnly() else { return 0 }
        var count = 0
        do {
            try context.feed(bytes, count: bytes.count)
            while let reply = try context.nextReply() {
                _ = reply.fieldPairs
                count += 1
            }
        } catch {}
        return count
    }

    /// Decodes a job hash as `HGETALL` returns it: `bytes` is one RESP reply (an array of field, value, …), decoded
    /// as `Job.fetch` decodes it.
    public static func decodeJobHash(_ bytes: [UInt8]) {
        guard let context = HiredisContext.parserOnly() else { return }
        guard (try? context.feed(bytes, count: bytes.count)) != nil,
            let reply = try? context.nextReply()
        else { return }
        _ = try? Job(id: "fuzz", redis: redis, hash: reply)
    }

    /// Reads `bytes` as a pickle, as a job's `data`, `meta` or result in Python RQ's default serializer.
    public static func readPickle(_ bytes: [UInt8]) {
        _ = try? Pickle.decode(bytes)
    }
}
