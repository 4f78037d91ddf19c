import Foundation
import RQ
import RQTesting
import Testing

@Suite struct RedisClientTests {
    @Test func startsAndStopsAThrowawayServer() async throws {
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        #expect(try await redis.send("PING").string == "PONG")
        await server.stop()
        #expect(!server.isRunning)
    }

    @Test func binarySafeArgumentsAndReplies() async throws {
        let redis = try await SharedRedis.client()
        let key = uniqueName("bin")
        let bytes: [UInt8] = [0, 13, 10, 255, 36, 42]
        try await redis.send("SET", key, bytes)
        #expect(try await redis.send("GET", key) == .bulk(bytes))
        #expect(try await redis.send("GET", uniqueName("missing")) == .null)
    }

    @Test func pipelinesAndTransactionsReturnEveryReply() async throws {
        let redis = try await SharedRedis.client()
        let key = uniqueName("counter")
        let replies = try await redis.pipeline([
            RedisCommand("INCR", key), RedisCommand("INCR", key), RedisCommand("HGET", key, "x"),
        ])
        #expect(replies[0] == .integer(1) && replies[1] == .integer(2))
        if case .error(let message) = replies[2] {
            #expect(message.hasPrefix("WRONGTYPE"))
        } else {
            Issue.record("expected an error reply in place, got \(replies[2])")
        }
        let results = try await redis.transaction([RedisCommand("INCR", key), RedisCommand("GET", key)])
        #expect(results == [.integer(3), .bulk(Array("3".utf8))])
        await #expect(throws: RedisError.self) { try await redis.transaction([RedisCommand("NOSUCHCOMMAND")]) }
        #expect(try await redis.send("GET", key).int == 3)
    }

    /// Replies of every shape come back whole, in order, from one read: nested arrays with nil and empty elements,
    /// negative and 64-bit integers, status and error replies, and a string over 1 MiB (the client's reply buffer
    /// grows for it, then shrinks) between small replies.
    @Test func repliesOfEveryShapeDecode() async throws {
        let redis = try await SharedRedis.client()
        let key = uniqueName("big")
        var big = [UInt8](repeating: 0x5A, count: 1_200_000)
        big[0] = 0
        big[600_000] = 13
        big[1_199_999] = 255
        let nested = RedisScript(
            name: "nested",
            source: """
                return {1, -4294967297, false, '', {'a', {}, {false, 'x'}}, redis.status_reply('FINE')}
                """)
        let replies = try await redis.pipeline([
            RedisCommand("SET", key, big), RedisCommand("GET", key), RedisCommand("NOSUCHCOMMAND"),
            RedisCommand("EVAL", nested.source, 0), RedisCommand("PING"),
            RedisCommand("INCRBY", uniqueName("counter"), Int.max),
        ])
        #expect(replies.count == 6)
        #expect(replies[0] == .status("OK"))
        #expect(replies[1] == .bulk(big))
        guard case .error(let message) = replies[2] else {
            Issue.record("expected an error reply, got \(replies[2])")
            return
        }
        #expect(message.contains("unknown command"))
        #expect(
            replies[3]
                == .array([
                    .integer(1), .integer(-4_294_967_297), .null, .bulk([]),
                    .array([.bulk([97]), .array([]), .array([.null, .bulk([120])])]), .status("FINE"),
                ]))
        #expect(replies[4] == .status("PONG"))
        #expect(replies[5] == .integer(Int.max))
        #expect(try await redis.send("STRLEN", key).int == big.count)
    }

    @Test func scriptsReloadAfterTheCacheIsFlushed() async throws {
        let redis = try await SharedRedis.client()
        let script = RedisScript(name: "double", source: "return tonumber(ARGV[1]) * 2")
        #expect(try await redis.evaluate(script, arguments: [21]) == .integer(42))
        try await redis.send("SCRIPT", "FLUSH")
        #expect(try await redis.evaluate(script, arguments: [5]) == .integer(10))
    }

    @Test func noServerGivesAConnectionErrorNamingTheAddressWithinTheTimeout() async throws {
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: try RedisServer.freePort()))
        configuration.connectTimeout = .milliseconds(800)
        let redis = Redis(configuration: configuration)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try await redis.send("PING")
            Issue.record("PING succeeded without a server")
        } catch let error as RedisError {
            #expect(error.code == .connectionFailed)
            #expect(
                error.message.contains("127.0.0.1:\(configuration.endpoint.description.split(separator: ":").last!)"))
        }
        #expect(clock.now - start < .seconds(5))  // a refusal is not retried (room for a loaded machine)
    }

    @Test func reconnectsAfterTheServerRestarts() async throws {
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        try await redis.send("SET", "k", "v")
        try await server.restart()
        // The first command after the restart may find the old socket closed; a typed error, never a crash.
        do { try await redis.send("PING") } catch let error as RedisError {
            #expect(error.code == .connectionLost || error.code == .timeout)
        }
        #expect(try await redis.send("PING").string == "PONG")
        #expect(try await redis.send("GET", "k") == .null)  // a fresh server without persistence
        await server.stop()
    }

    /// The test support's guarantee behind every outage test: a server restarted on its port after another server
    /// took it fails to start, instead of passing the other off as its own (the other's test would lose its server
    /// when this one is stopped, and see "connection refused" mid-test).
    @Test func aRestartOnAPortAnotherServerTookFailsAndLeavesThatServerAlone() async throws {
        let server = try await RedisServer.start()
        await server.stop()
        let squatter = try CommandProcess(
            "/usr/bin/redis-server",
            ["--port", String(server.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        defer { squatter.signal(SIGTERM) }
        let other = try Redis(url: "redis://127.0.0.1:\(server.port)/0")
        #expect(try await eventually(timeout: .seconds(10)) { (try? await other.send("PING").string) == "PONG" })

        await #expect(throws: RedisServer.StartError.self) { try await server.restart() }
        #expect(try await other.send("PING").string == "PONG")
        await other.close()
    }

    /// Ports for test servers are handed out once per process and lie outside the kernel's ephemeral range, where a
    /// client's own end of a connection could take the port of a server that is down.
    @Test func freePortsAreNeverHandedOutTwiceNorEphemeral() throws {
        let ports = try (0..<300).map { _ in try RedisServer.freePort() }
        #expect(Set(ports).count == ports.count)
        let range = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
            .split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        let ephemeral = range[0]...range[1]
        #expect(ports.allSatisfy { !ephemeral.contains($0) })
    }

    @Test func aServerThatStopsAnsweringTimesOutAndTheClientRecovers() async throws {
        let server = try await RedisServer.start()
        var configuration = try RedisConfiguration(url: server.url)
        configuration.commandTimeout = .milliseconds(500)
        let redis = Redis(configuration: configuration)
        #expect(try await redis.send("PING").string == "PONG")
        server.signal(SIGSTOP)
        // The connection is idle, so this command is written straight from the calling task: it must still be
        // held to the command timeout.
        let start = ContinuousClock.now
        do {
            try await redis.send("PING")
            Issue.record("PING answered by a stopped server")
        } catch let error as RedisError {
            #expect(error.code == .timeout, "\(error)")
        }
        // A 500 ms timeout, far from the 30 s default (the bound leaves room for a loaded CI machine).
        #expect(ContinuousClock.now - start < .seconds(5))
        server.signal(SIGCONT)
        #expect(try await redis.send("PING").string == "PONG")
        #expect(try await redis.pipeline([RedisCommand("SET", "k", "v"), RedisCommand("GET", "k")])[1].string == "v")
        await server.stop()
    }

    @Test func authenticatesWithPasswordAndACLUser() async throws {
        let server = try await RedisServer.start(arguments: ["--requirepass", "s3cret"])
        let withPassword = try Redis(url: "redis://:s3cret@127.0.0.1:\(server.port)/2")
        try await withPassword.send("SET", "where", "db2")
        try await withPassword.send("ACL", "SETUSER", "alice", "on", ">alicepw", "~*", "+@all")
        let alice = try Redis(url: "redis://alice:alicepw@127.0.0.1:\(server.port)/2")
        #expect(try await alice.send("GET", "where").string == "db2")
        let wrong = try Redis(url: "redis://:nope@127.0.0.1:\(server.port)/0")
        do {
            try await wrong.send("PING")
            Issue.record("a wrong password was accepted")
        } catch let error as RedisError {
            #expect(error.message.contains("AUTH"))
        }
        await server.stop()
    }

    /// Managed Redis often gives an ACL user without the `@dangerous` and `@admin` commands (no INFO, KEYS, CONFIG,
    /// CLIENT LIST…): enqueueing, a worker with horses and a scheduler, worker commands over pub/sub and result
    /// waits all work as such a user.
    @Test func everythingWorksAsAnACLUserWithoutDangerousOrAdminCommands() async throws {
        let server = try await RedisServer.start(arguments: ["--requirepass", "s3cret"])
        let admin = try Redis(url: "redis://:s3cret@127.0.0.1:\(server.port)/0")
        try await admin.send(
            "ACL", "SETUSER", "worker", "on", ">workerpw", "~*", "&*", "+@all", "-@dangerous", "-@admin")
        let url = "redis://worker:workerpw@127.0.0.1:\(server.port)/0"
        let redis = try Redis(url: url)
        await #expect(throws: RedisError.self) { try await redis.send("INFO") }  // the user really is limited
        let queue = Queue(uniqueName(), redis: redis)
        let jobs = try await queue.enqueueMany((0..<5).map { EnqueueRequest("examples.add", args: [.int($0), 1]) })
        let scheduled = try await queue.enqueue(in: .seconds(1), "examples.add", args: [10, 1])
        let worker = RunningWorker.start(queues: [queue.name], redis: try Redis(url: url), concurrency: 2) {
            $0.withScheduler = true
        }
        for (index, job) in jobs.enumerated() {
            #expect(try await job.result(timeout: .seconds(30)) == .int(index + 1))
        }
        #expect(try await scheduled.result(timeout: .seconds(30)) == 11)
        _ = try await Python.run(
            """
            from rq.command import send_shutdown_command
            send_shutdown_command(r, '\(worker.pool.name)')
            print('null')
            """, url: url)
        try await worker.task.value
        await server.stop()
    }

    @Test func connectsOverAUnixSocketAndSetsTheClientName() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(uniqueName("rq")).sock").path
        let server = try await RedisServer.start(arguments: ["--unixsocket", path, "--unixsocketperm", "700"])
        var configuration = try RedisConfiguration(url: "unix://\(path)?db=1")
        configuration.clientName = "swift-rq-test"
        let redis = Redis(configuration: configuration)
        #expect(try await redis.send("CLIENT", "GETNAME").string == "swift-rq-test")
        #expect(try await redis.send("CLIENT", "INFO").string?.contains("db=1") == true)
        await server.stop()
    }

    @Test func concurrentEnqueuesAreNotStarvedByABlockingPop() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let listKey = uniqueName("blocking")
        let popped = Task {
            try await redis.sendBlocking(RedisCommand("BLPOP", listKey, 20), blockingFor: .seconds(20))
        }
        try await Task.sleep(for: .milliseconds(50))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<64 {
                group.addTask { _ = try await queue.enqueue("examples.add", args: [.int(index), 1]) }
            }
            try await group.waitForAll()
        }
        #expect(try await queue.count() == 64)
        try await redis.send("RPUSH", listKey, "done")
        let reply = try await popped.value
        #expect(reply.array?.last?.string == "done")
    }

    @Test func cancellingABlockingCommandReturnsPromptly() async throws {
        let redis = try await SharedRedis.client()
        let task = Task {
            try await redis.sendBlocking(RedisCommand("BLPOP", uniqueName("never"), 30), blockingFor: .seconds(30))
        }
        try await Task.sleep(for: .milliseconds(100))
        let clock = ContinuousClock()
        let start = clock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        // Far sooner than the 30 s block (the bound leaves room for a loaded CI machine).
        #expect(clock.now - start < .seconds(20))
        #expect(try await redis.send("PING").string == "PONG")
    }
}
