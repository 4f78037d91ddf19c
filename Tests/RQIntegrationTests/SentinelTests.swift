import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

/// Three `redis-server --sentinel` processes watching a master with one replica, all on loopback.
struct SentinelCluster {
    let master: RedisServer
    let replica: RedisServer
    let sentinels: [CommandProcess]
    let sentinelPorts: [Int]
    let directory: URL

    static let masterName = "rqmaster"

    /// `redis+sentinel://` for the cluster.
    var url: String {
        "redis+sentinel://" + sentinelPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",") + "/\(Self.masterName)/0"
    }

    static func start() async throws -> SentinelCluster {
        let master = try await RedisServer.start()
        let replica = try await RedisServer.start(arguments: ["--replicaof", "127.0.0.1", String(master.port)])
        let replicaClient = try replica.makeClient()
        #expect(
            try await eventually(timeout: .seconds(20)) {
                try await replicaClient.send("INFO", "replication").string?.contains("master_link_status:up") == true
            })
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("sentinels"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var sentinels: [CommandProcess] = []
        var ports: [Int] = []
        for index in 0..<3 {
            let port = try unusedPort()
            let file = directory.appendingPathComponent("sentinel-\(index).conf")
            try """
            port \(port)
            bind 127.0.0.1
            dir \(directory.path)
            sentinel monitor \(masterName) 127.0.0.1 \(master.port) 2
            sentinel down-after-milliseconds \(masterName) 1000
            sentinel failover-timeout \(masterName) 4000
            sentinel parallel-syncs \(masterName) 1

            """.write(to: file, atomically: true, encoding: .utf8)
            sentinels.append(try CommandProcess("/usr/bin/redis-server", [file.path, "--sentinel"]))
            ports.append(port)
        }
        // Ready once every sentinel has found the replica and the other two sentinels (which a failover needs).
        for port in ports {
            let sentinel = try Redis(url: "redis://127.0.0.1:\(port)/0")
            #expect(
                try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
                    guard let replicas = try? await sentinel.send("SENTINEL", "REPLICAS", masterName).array,
                        let others = try? await sentinel.send("SENTINEL", "SENTINELS", masterName).array
                    else { return false }
                    return replicas.count == 1 && others.count == 2
                }, "sentinel on \(port) never saw the replica and the other sentinels")
            await sentinel.close()
        }
        return SentinelCluster(
            master: master, replica: replica, sentinels: sentinels, sentinelPorts: ports, directory: directory)
    }

    func stop() async {
        for sentinel in sentinels { sentinel.signal(SIGTERM) }
        for sentinel in sentinels { _ = await sentinel.waitForExit(timeout: .seconds(5)) }
        await master.stop()
        await replica.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

@Suite struct SentinelTests {
    /// The acceptance check: workers on a sentinel URL drain a queue; the master is SIGKILLed mid-run; they carry on
    /// with the promoted replica; every job ends finished; no worker exits.
    @Test func workersFollowAFailoverAndEveryJobFinishes() async throws {
        let cluster = try await SentinelCluster.start()
        let redis = try Redis(url: cluster.url)
        // ROLE, which checks that the named master is one, is an @admin command: a user without it connects too.
        for server in [cluster.master, cluster.replica] {
            try await server.makeClient().send(
                "ACL", "SETUSER", "app", "on", ">apppw", "~*", "&*", "+@all", "-@dangerous", "-@admin")
        }
        let restricted = try Redis(
            url: cluster.url.replacingOccurrences(of: "sentinel://", with: "sentinel://app:apppw@"))
        try await restricted.send("SET", "written-by", "app")
        #expect(try await redis.send("GET", "written-by").string == "app")
        let queue = Queue(uniqueName(), redis: redis)
        let jobs = try await queue.enqueueMany(
            (0..<200).map {
                EnqueueRequest(
                    "examples.sleep", args: [.double(0.02 + Double($0 % 4) * 0.01)],
                    options: EnqueueOptions(retry: Retry(max: 3)))
            })
        // The jobs are on the replica too before anything can fail.
        #expect(try await redis.send("WAIT", 1, 5000).int == 1)
        let horses = RunningWorker.start(queues: [queue.name], redis: try Redis(url: cluster.url), concurrency: 2)
        let inProcess = RunningWorker.start(
            queues: [queue.name], redis: try Redis(url: cluster.url), inProcess: true, concurrency: 2
        ) { $0.withScheduler = true }

        #expect(try await eventually { try await queue.finishedJobRegistry.count() >= 40 })
        cluster.master.signal(SIGKILL)

        // The sentinels promote the replica; the workers find it and drain the queue there.
        let drained = try await eventually(timeout: .seconds(120), every: .milliseconds(500)) {
            guard let statuses = try? await Job.fetchMany(ids: jobs.map(\.id), redis: redis) else { return false }
            return statuses.allSatisfy { $0?.status == .finished }
        }
        let statuses = try await Job.fetchMany(ids: jobs.map(\.id), redis: redis).map { $0?.status }
        #expect(
            drained,
            "not finished: \(zip(jobs, statuses).filter { $0.1 != .finished }.map { "\($0.0.id) \($0.1.map { "\($0)" } ?? "gone")" })"
        )
        let promoted = try cluster.replica.makeClient()
        #expect(try await promoted.send("ROLE").array?.first?.string == "master")
        // RQ's SENTINEL setting in a settings file finds the new master too.
        let settings = FileManager.default.temporaryDirectory.appendingPathComponent("\(uniqueName("sentinel")).json")
        let instances = cluster.sentinelPorts.map { "[\"127.0.0.1\", \($0)]" }.joined(separator: ", ")
        try #"{"SENTINEL": {"INSTANCES": [\#(instances)], "MASTER_NAME": "\#(SentinelCluster.masterName)", "DB": 0}}"#
            .write(to: settings, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: settings) }
        let (status, output) = try await runCommand(rqPath, ["info", "-c", settings.path, queue.name])
        #expect(status == 0 && output.contains("200 finished"), "\(output)")
        // Neither worker exited: a warm shutdown ends each normally.
        try await horses.stop()
        try await inProcess.stop()
        await cluster.stop()
    }

    @Test func noSentinelThatKnowsTheMasterIsAClearError() async throws {
        let server = try await SharedRedis.server()  // not a sentinel: SENTINEL is an unknown command there
        let port = try unusedPort()
        let redis = try Redis(url: "redis+sentinel://127.0.0.1:\(port),127.0.0.1:\(server.port)/nosuch")
        let error = await #expect(throws: RedisError.self) { try await redis.send("PING") }
        #expect(
            error?.message.contains("no sentinel gave the address of master 'nosuch'") == true,
            "\(String(describing: error))")
        #expect(error?.message.contains("127.0.0.1:\(port): could not connect") == true, "\(String(describing: error))")
    }
}
