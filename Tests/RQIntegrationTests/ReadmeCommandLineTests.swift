import Foundation
import RQ
import RQTesting
import Testing

/// The README's "Command line" block, run line by line as written (on a server of its own instead of the default
/// port, with `./my-jobs` the example runner and `settings` the README's settings module), so its examples cannot
/// drift from what the command does.
@Suite struct ReadmeCommandLineTests {
    /// The first fenced block of `language` in the README section that starts with `heading`.
    private static func readmeBlock(_ language: String, in heading: String) throws -> String {
        let readme = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "\n\(heading)\n"))
        let fence = try #require(readme.range(of: "```\(language)\n", range: section.upperBound..<readme.endIndex))
        let end = try #require(readme.range(of: "\n```", range: fence.upperBound..<readme.endIndex))
        return String(readme[fence.upperBound..<end.lowerBound])
    }

    @Test func theCommandLineExamplesRunAsWritten() async throws {
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let settings = FileManager.default.temporaryDirectory.appendingPathComponent("\(uniqueName("settings")).py")
        try Self.readmeBlock("python", in: "## Command line")
            .replacingOccurrences(of: "redis://127.0.0.1:6379/0", with: server.url)
            .replacingOccurrences(of: "/usr/local/bin/my-jobs", with: exampleJobsPath)
            .write(to: settings, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: settings) }
        let replacements = [
            "swift-rq": rqPath, "./my-jobs": exampleJobsPath, "settings": settings.path,
            "redis://127.0.0.1:6379/0": server.url,
            "Examples/cron.json": repository.appendingPathComponent("Examples/cron.json").path,
        ]

        let lines = try Self.readmeBlock("sh", in: "## Command line").split(separator: "\n")
        #expect(lines.count >= 10)
        var ran: [String] = []
        for line in lines {
            let code = line.components(separatedBy: "  #").first ?? String(line)
            for command in code.split(separator: ";") {
                let words = command.split(separator: " ").map { replacements[String($0)] ?? String($0) }
                guard words.first == rqPath else { continue }
                let process = try CommandProcess(
                    words[0], Array(words.dropFirst()), environment: ["RQ_REDIS_URL": server.url])
                if words[1] == "cron" {
                    #expect(
                        try await eventually { try await redis.send("ZCARD", "rq:cron_schedulers").int == 1 },
                        "\(process.log)")
                    process.signal(SIGTERM)
                }
                let status = await process.waitForExit(timeout: .seconds(60))
                #expect(status == 0, "\(command): \(process.log)")
                ran.append(words[1])
                try await checkEffect(of: Array(words.dropFirst()), redis: redis)
            }
        }
        #expect(
            ran == [
                "info", "info", "enqueue", "enqueue", "requeue", "empty", "suspend", "resume", "worker",
                "worker-pool", "cron",
            ])
    }

    /// What a user would look at after each command.
    private func checkEffect(of arguments: [String], redis: Redis) async throws {
        let queue = Queue("default", redis: redis)
        switch arguments[0] {
        case "enqueue" where arguments.contains("examples.add"):
            let job = try #require(try await queue.jobs().last)
            #expect(job.functionName == "examples.add" && job.args == [2, 3])
            #expect(job.resultTTL == 3600)
        case "enqueue":
            let id = try #require(try await queue.scheduledJobRegistry.jobIDs().first)
            let job = try await Job.fetch(id: id, redis: redis)
            #expect(job.functionName == "reports.build" && job.args == ["2026-11"] && job.kwargs == ["fmt": "pdf"])
            #expect(job.timeout?.seconds == 3600 && job.retriesLeft == 3)
        case "empty":
            #expect(try await queue.count() == 0)
        case "suspend":
            #expect(try await redis.send("EXISTS", "rq:suspended").int == 1)
        case "resume":
            #expect(try await redis.send("EXISTS", "rq:suspended").int == 0)
        case "worker", "worker-pool":
            // Burst workers registered, worked and left.
            #expect(try await redis.send("SCARD", "rq:workers").int == 0)
        default: break
        }
    }
}
