public import FoundationEssentials
import RQ
public import ServiceLifecycle
import Synchronization

/// Samples throughput for the dashboard's graphs: every ``DashboardConfiguration/sampleInterval`` it reads every
/// worker's `successful_job_count` and `failed_job_count` (the counters that `rq info` and Python's workers keep in
/// `rq:worker:{name}`, so Python and Swift workers alike are counted) and the length of every queue, and keeps the
/// jobs finished and failed since the previous sample, and the jobs waiting, in a ring buffer of
/// ``DashboardConfiguration/sampleCapacity`` samples.
///
/// A worker that appears between two samples counts from its birth; a worker whose hash has gone (more than a
/// minute after it stopped) takes its last interval with it. Run it as a service beside the app (it is a `Service`);
/// without it the graphs stay empty.
public final class ThroughputSampler: Service, Sendable {
    /// One point of the graphs.
    public struct Sample: Sendable, Hashable {
        /// When it was taken.
        public var time: Date
        /// Jobs that finished since the previous sample.
        public var finished: Int
        /// Jobs that failed (or were stopped) since the previous sample.
        public var failed: Int
        /// Jobs waiting in all queues at the time.
        public var queued: Int
    }

    private struct State {
        var counters: [String: (finished: Int, failed: Int)] = [:]
        var lastTime: Date?
        var samples: [Sample] = []
    }

    let redis: Redis
    let interval: Duration
    let capacity: Int
    private let state = Mutex(State())

    init(redis: Redis, interval: Duration, capacity: Int) {
        self.redis = redis
        self.interval = interval
        self.capacity = max(2, capacity)
    }

    /// The samples, oldest first.
    public var samples: [Sample] { state.withLock { $0.samples } }

    /// Samples until graceful shutdown; a failed read (Redis away) skips that sample.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await self.sample()
                try await Task.sleep(for: self.interval)
            }
        }
    }

    /// Takes one sample now. The first only sets the baseline.
    public func sample() async throws {
        let now = Date()
        let workers = try await Worker.all(redis: redis)
        let queues = try await Queue.allNames(redis: redis)
        let lengths = try await redis.pipeline(queues.map { RedisCommand("LLEN", "rq:queue:\($0)") })
        let queued = lengths.reduce(0) { $0 + ($1.int ?? 0) }
        state.withLock { state in
            var finished = 0
            var failed = 0
            var counters: [String: (finished: Int, failed: Int)] = [:]
            for worker in workers {
                let current = (finished: worker.successfulJobCount, failed: worker.failedJobCount)
                counters[worker.name] = current
                if let previous = state.counters[worker.name] {
                    finished += max(0, current.finished - previous.finished)
                    failed += max(0, current.failed - previous.failed)
                } else if let last = state.lastTime, let birth = worker.birth, birth >= last {
                    finished += current.finished
                    failed += current.failed
                }
            }
            let isFirst = state.lastTime == nil
            state.counters = counters
            state.lastTime = now
            guard !isFirst else { return }
            state.samples.append(Sample(time: now, finished: finished, failed: failed, queued: queued))
            if state.samples.count > capacity { state.samples.removeFirst(state.samples.count - capacity) }
        }
    }
}
