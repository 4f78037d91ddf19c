// swift-format-ignore-file
// Observability.md: see Support.swift.
import RQ
import RQCommandLine

func observabilityMetrics() throws {
    let metrics = try PrometheusEndpoint.bootstrap(port: 9200)   // once per process, before the pool runs
    defer { metrics.close() }
    _ = metrics.port
}

func observabilityState(queue: Queue, redis: Redis) async throws {
    let queued = try await queue.count()
    let failed = try await queue.failedJobRegistry.count()
    let running = try await queue.startedJobRegistry.count()
    for worker in try await Worker.all(redis: redis) {
        print(worker.name, worker.state, worker.successfulJobCount, worker.failedJobCount, worker.totalWorkingTime)
    }
    print(queued, failed, running)
}
