// swift-format-ignore-file
// RQ.md, the landing page: see Support.swift.
import RQ

func landingPage() async throws {
    let queue = Queue("default", redis: try Redis(url: "redis://127.0.0.1:6379/0"))
    let add = JobFunction<Int, Int, Int>("examples.add")
    let job = try await queue.enqueue(add, 2, 3)
    let five = try await job.result(timeout: .seconds(30))
    _ = five
}
