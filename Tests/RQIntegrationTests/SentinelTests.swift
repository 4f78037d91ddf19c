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

    /// - Parameter masterArguments: more `redis-server` arguments for the master.
    static func start(masterArguments: [String] = []) async throws -> SentinelCluster {
        let master = try await RedisServer.start(arguments: masterArguments)
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
            let port = try RedisServer.freePort()
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

        #expect(try await eventually(timeout: .seconds(30)) { try await queue.finishedJobRegistry.count() >= 40 })
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
        let port = try RedisServer.freePort()
        let redis = try Redis(url: "redis+sentinel://127.0.0.1:\(port),127.0.0.1:\(server.port)/nosuch")
        let error = await #expect(throws: RedisError.self) { try await redis.send("PING") }
        #expect(
            error?.message.contains("no sentinel gave the address of master 'nosuch'") == true,
            "\(String(describing: error))")
        #expect(error?.message.contains("127.0.0.1:\(port): could not connect") == true, "\(String(describing: error))")
    }

    /// A failover that leaves the old master up and still a master — the sentinels cannot demote it (here its
    /// REPLICAOF is renamed away; in life, a partition): it goes on answering everything. The client hears the
    /// sentinels' `+switch-master` and moves to the new master with no error to tell it.
    @Test func aClientFollowsSwitchMasterWhenTheOldMasterStaysUp() async throws {
        let cluster = try await SentinelCluster.start(
            masterArguments: ["--rename-command", "REPLICAOF", "", "--rename-command", "SLAVEOF", ""])
        let redis = try Redis(url: cluster.url)
        try await redis.send("SET", "before", "1")
        func port() async throws -> String? {
            try await redis.send("INFO", "server").string.flatMap { RedisServer.infoField("tcp_port", in: $0) }
        }
        #expect(try await port() == String(cluster.master.port))
        let sentinel = try Redis(url: "redis://127.0.0.1:\(cluster.sentinelPorts[0])/0")
        try await sentinel.send("SENTINEL", "FAILOVER", SentinelCluster.masterName)
        #expect(
            try await eventually(timeout: .seconds(30), every: .milliseconds(100)) {
                try await port() == String(cluster.replica.port)
            }, "the client stayed on the old master")
        #expect(try await cluster.master.makeClient().send("ROLE").array?.first?.string == "master")
        try await redis.send("SET", "after", "1")
        #expect(try await cluster.replica.makeClient().send("GET", "after").string == "1")
        await redis.close()
        await sentinel.close()
        await cluster.stop()
    }

    /// Sentinels on a TLS port: `sentinel_ssl=true` with the TLS parameters finds the master through them.
    @Test func sentinelsOverTLSAreAskedOverTLS() async throws {
        let master = try await RedisServer.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("tls-sentinel"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = try RedisServer.freePort()
        let ca = try await TestCertificates.path("ca.crt")
        let file = directory.appendingPathComponent("sentinel.conf")
        try """
        port 0
        tls-port \(port)
        bind 127.0.0.1
        dir \(directory.path)
        tls-cert-file \(try await TestCertificates.path("server.crt"))
        tls-key-file \(try await TestCertificates.path("server.key"))
        tls-ca-cert-file \(ca)
        tls-auth-clients no
        sentinel monitor tlsmaster 127.0.0.1 \(master.port) 1

        """.write(to: file, atomically: true, encoding: .utf8)
        let sentinel = try CommandProcess("/usr/bin/redis-server", [file.path, "--sentinel"])
        defer { sentinel.signal(SIGTERM) }
        let url = "redis+sentinel://127.0.0.1:\(port)/tlsmaster/0?sentinel_ssl=true&ssl_ca_certs=\(ca)"
        let redis = try Redis(url: url)
        // The sentinel takes a moment to listen: a first connection is tried once, so ask until it answers.
        #expect(
            try await eventually(timeout: .seconds(10), every: .milliseconds(100)) {
                (try? await redis.send("SET", "over-tls", "yes")) != nil
            })
        #expect(try await master.makeClient().send("GET", "over-tls").string == "yes")
        // RQ's SENTINEL setting says the same with SENTINEL_KWARGS, as redis-py's Sentinel takes it.
        let settings = directory.appendingPathComponent("rq_settings.py")
        try """
        SENTINEL = {'INSTANCES': [('127.0.0.1', \(port))], 'MASTER_NAME': 'tlsmaster',
                    'SENTINEL_KWARGS': {'ssl': True, 'ssl_ca_certs': '\(ca)'}}

        """.write(to: settings, atomically: true, encoding: .utf8)
        let (status, output) = try await runCommand(rqPath, ["info", "-c", settings.path])
        #expect(status == 0, "\(output)")
        // Asked in plain text, the TLS sentinel does not answer: the error names it.
        let plain = try Redis(url: "redis+sentinel://127.0.0.1:\(port)/tlsmaster/0")
        let error = await #expect(throws: RedisError.self) { try await plain.send("PING") }
        #expect(
            error?.message.contains("no sentinel gave the address of master 'tlsmaster'") == true,
            "\(String(describing: error))")
        await redis.close()
        await plain.close()
        await master.stop()
    }
}
