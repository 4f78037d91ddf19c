import ArgumentParser
import FoundationEssentials
import Glibc
import RQ

/// `rq requeue`: put failed jobs back on their queue.
struct RequeueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "requeue", abstract: "Requeue failed jobs.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var classes: ClientClassOptions

    /// Required, as in Python RQ: requeueing from a queue nobody named would be a guess.
    @Option(help: "The queue whose failed jobs to requeue (required).")
    var queue: String

    @Flag(name: [.short, .long], help: "Requeue every failed job of the queue.")
    var all = false

    @Argument(help: "Ids of failed jobs to requeue.")
    var jobIDs: [String] = []

    func run() async throws {
        let redis = try connection.makeRedis()
        try await reportingRedisErrors {
            let registry = Queue(queue, redis: redis).failedJobRegistry
            let ids = all ? try await registry.jobIDs() : jobIDs
            guard !ids.isEmpty else {
                print("Nothing to do")
                return
            }
            print("Requeueing \(ids.count) jobs from failed queue")
            var failures: [String] = []
            for id in ids {
                do {
                    let job = try await Job.fetch(id: id, redis: redis)
                    guard job.origin == queue else { throw RQError(.invalidState, "job \(id) is not from \(queue)") }
                    try await job.requeue()
                } catch let error as RQError {
                    failures.append(error.message)
                }
            }
            if !failures.isEmpty {
                for failure in failures { writeStandardError("\(failure)\n") }
                fail("Unable to requeue \(failures.count) jobs from failed job registry")
            }
        }
    }
}

/// `rq empty`: remove every job from queues.
struct EmptyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "empty", abstract: "Empty the given queues.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var classes: ClientClassOptions

    @Flag(name: [.short, .long], help: "Empty all queues.")
    var all = false

    @Argument(help: "Queues to empty.")
    var queues: [String] = []

    func run() async throws {
        let redis = try connection.makeRedis()
        try await reportingRedisErrors {
            let names = all ? try await Queue.allNames(redis: redis) : queues
            guard !names.isEmpty else {
                print("Nothing to do")
                return
            }
            for name in names {
                let removed = try await Queue(name, redis: redis).empty()
                print("\(removed) jobs removed from \(name) queue")
            }
        }
    }
}

/// `rq suspend`: workers take no new jobs until `rq resume`.
struct SuspendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suspend", abstract: "Suspend all workers; resume with `rq resume`.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var classes: ClientClassOptions

    @Option(help: "Seconds to suspend for (default: until resumed).")
    var duration: Int?

    func validate() throws {
        if let duration, duration < 1 { throw ValidationError("Duration must be an integer greater than 1") }
    }

    func run() async throws {
        let redis = try connection.makeRedis()
        try await reportingRedisErrors {
            if let duration {
                try await Worker.suspend(redis: redis, for: .seconds(duration))
                print(
                    "Suspending workers for \(duration) seconds. No new jobs will be started during that time, "
                        + "but then will automatically resume")
            } else {
                try await Worker.suspend(redis: redis)
                print("Suspending workers.  No new jobs will be started.  But current jobs will be completed")
            }
        }
    }
}

/// `rq resume`: undo `rq suspend`.
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Resume workers suspended with `rq suspend`.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var classes: ClientClassOptions

    func run() async throws {
        let redis = try connection.makeRedis()
        try await reportingRedisErrors {
            try await Worker.resume(redis: redis)
            print("Resuming workers.")
        }
    }
}
