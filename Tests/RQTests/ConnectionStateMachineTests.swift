import Testing

@testable import RQ

/// The connection's state machine driven by hand: no socket, no thread, no clock — each test plays the events a
/// connection's thread and its callers would, and checks the actions.
@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine<String>

    let start = ContinuousClock.now
    let socket: Int32 = 7

    func machine(_ configure: (inout Machine.Options) -> Void = { _ in }) -> Machine {
        var options = Machine.Options(commandTimeout: .seconds(5), connectTimeout: .seconds(2))
        configure(&options)
        return Machine(options: options)
    }

    func request(_ waiter: String, id: UInt64, commands: Int = 1, timeout: Duration? = nil) -> Machine.Request {
        Machine.Request(
            id: id, payload: Array("<\(waiter)>".utf8), replyCount: commands, timeout: timeout, waiter: waiter)
    }

    /// Submits the first request, which starts the thread, and opens the connection.
    func connected(_ machine: inout Machine, first: Machine.Request) {
        guard case .startThread = machine.submit(first, now: start) else {
            Issue.record("the first request does not start the thread")
            return
        }
        let result1 = machine.nextStep(now: start)
        #expect(result1 == .open(timeout: .seconds(2)))
        machine.opened(socket: socket, now: start)
    }

    /// Flushes what the machine wants written; returns the bytes, as the socket would have taken them.
    func flushed(_ machine: inout Machine, taking limit: Int = .max) -> String {
        var taken: [UInt8] = []
        _ = machine.flush { bytes in
            taken = Array(bytes.prefix(limit))
            return taken.count
        }
        return String(decoding: taken, as: UTF8.self)
    }

    @Test func pipelinedRequestsGoOutTogetherAndTheirRepliesComeBackInOrder() {
        var machine = machine()
        connected(&machine, first: request("a", id: 1))
        let result2 = machine.nextStep(now: start)
        #expect(result2 == .flush)
        let result3 = flushed(&machine)
        #expect(result3 == "<a>")
        let result4 = machine.nextStep(now: start)
        #expect(result4 == .receive)
        // While a's reply is due, b and c queue behind it; nobody writes them yet.
        guard case .none = machine.submit(request("b", id: 2), now: start),
            case .none = machine.submit(request("c", id: 3), now: start)
        else {
            Issue.record("requests submitted while replies are due were not queued")
            return
        }
        machine.threadWoke()
        let first = machine.received([.status("A")])
        #expect(first.completed.map(\.0) == ["a"])
        #expect(first.completed.first?.1 == [.status("A")])
        // Then both go out in one write, and one read answers both, in order.
        let result5 = machine.nextStep(now: start)
        #expect(result5 == .flush)
        let result6 = flushed(&machine)
        #expect(result6 == "<b><c>")
        let result7 = machine.nextStep(now: start)
        #expect(result7 == .receive)
        let rest = machine.received([.integer(2), .integer(3)])
        #expect(rest.completed.map(\.0) == ["b", "c"])
        #expect(rest.completed.map(\.1) == [[.integer(2)], [.integer(3)]])
        #expect(rest.drop == nil)
        #expect(machine.requestCount == 0)
    }

    @Test func aBatchWhoseRepliesArriveInPiecesCompletesWithTheLastOne() {
        var machine = machine()
        connected(&machine, first: request("multi", id: 1, commands: 3))
        _ = flushed(&machine)
        let result8 = machine.received([.status("OK")])
        #expect(result8.completed.isEmpty)
        let result9 = machine.received([.status("QUEUED")])
        #expect(result9.completed.isEmpty)
        let done = machine.received([.array([.integer(1)])])
        #expect(done.completed.map(\.0) == ["multi"])
        #expect(done.completed.first?.1 == [.status("OK"), .status("QUEUED"), .array([.integer(1)])])
    }

    /// Below the machine, hiredis' parser completes a reply only when its last byte has come, whatever the reads.
    @Test func aReplyWhoseBytesArriveInPiecesIsParsedWhenComplete() throws {
        let parser = try #require(HiredisContext.parserOnly())
        let bytes = Array("*3\r\n$3\r\nfoo\r\n:42\r\n*1\r\n+OK\r\n-ERR no\r\n".utf8)
        var replies: [RedisValue] = []
        for byte in bytes {  // one byte per read: the worst a socket can do
            try parser.feed([byte], count: 1)
            while let reply = try parser.nextReply() { replies.append(reply) }
        }
        #expect(
            replies == [.array([.bulk(Array("foo".utf8)), .integer(42), .array([.status("OK")])]), .error("ERR no")])
        try parser.feed(Array("$5\r\nab".utf8), count: 6)
        #expect(try parser.nextReply() == nil, "half a bulk string is no reply yet")
        try parser.feed(Array("cde\r\n".utf8), count: 5)
        #expect(try parser.nextReply() == .bulk(Array("abcde".utf8)))
        try parser.feed(Array("?bad\r\n".utf8), count: 6)
        #expect(throws: RedisError.self) { try parser.nextReply() }
    }

    @Test func anIdleConnectionLetsTheCallerWriteAndOthersQueueBehindIt() {
        var machine = machine()
        connected(&machine, first: request("a", id: 1))
        _ = flushed(&machine)
        _ = machine.received([.status("A")])
        // Nothing in flight: the thread waits for a wake-up or the socket.
        let result10 = machine.nextStep(now: start)
        #expect(result10 == .poll(writable: false, deadline: nil))
        guard case .writeDirectly(let socket, let generation) = machine.submit(request("b", id: 2), now: start) else {
            Issue.record("an idle connection did not let the caller write")
            return
        }
        #expect(socket == self.socket)
        #expect(machine.callerWriting)
        // Meanwhile another caller queues, and the thread does not write under the caller.
        guard case .none = machine.submit(request("c", id: 3), now: start) else {
            Issue.record("a request during a direct write was not queued")
            return
        }
        let result11 = machine.nextStep(now: start)
        #expect(result11 != .flush)
        // The caller's write was partial: the thread writes the rest, then c.
        let result12 = machine.directWriteFinished(written: 1, payload: Array("<b>".utf8), generation: generation)
        #expect(result12)
        let result13 = machine.nextStep(now: start)
        #expect(result13 == .flush)
        let result14 = flushed(&machine, taking: 2)
        #expect(result14 == "b>")
        let replies = machine.received([.status("B")])
        #expect(replies.completed.map(\.0) == ["b"])
        let result15 = machine.nextStep(now: start)
        #expect(result15 == .flush)
        let result16 = flushed(&machine)
        #expect(result16 == "<c>")
    }

    @Test func aLostConnectionFailsWhatIsInFlightAndTheNextRequestReconnects() {
        var machine = machine()
        connected(&machine, first: request("a", id: 1))
        _ = flushed(&machine)
        _ = machine.submit(request("b", id: 2), now: start)
        let failure = machine.lost(RedisError(.connectionLost, "closed"), now: start)
        #expect(failure.waiters == ["a", "b"])
        #expect((failure.error as? RedisError)?.code == .connectionLost)
        #expect(machine.phase == .idle)
        #expect(machine.requestCount == 0)
        // Nothing queued: the thread sleeps until woken.
        let result17 = machine.nextStep(now: start)
        #expect(result17 == .sleep(until: nil))
        guard case .wakeThread = machine.submit(request("c", id: 3), now: start) else {
            Issue.record("a request on a dropped connection did not wake the thread")
            return
        }
        let result18 = machine.nextStep(now: start)
        #expect(result18 == .open(timeout: .seconds(2)))
        machine.opened(socket: 8, now: start)
        #expect(machine.connections == 2)
        let result19 = machine.nextStep(now: start)
        #expect(result19 == .flush)
        let result20 = flushed(&machine)
        #expect(result20 == "<c>")
    }

    @Test func aReconnectBacksOffExponentiallyUntilTheConnectTimeout() {
        var machine = machine()
        connected(&machine, first: request("a", id: 1))
        _ = flushed(&machine)
        _ = machine.lost(RedisError(.connectionLost, "closed"), now: start)
        _ = machine.submit(request("b", id: 2), now: start)
        var now = start
        let result21 = machine.nextStep(now: now)
        #expect(result21 == .open(timeout: .seconds(2)))
        var waits: [Duration] = []
        while true {
            let failed = machine.openFailed(RedisError(.connectionFailed, "refused"), now: now)
            if !failed.isEmpty {
                #expect(failed == ["b"])
                break
            }
            guard case .sleep(let until?) = machine.nextStep(now: now) else {
                Issue.record("a failed reconnect does not wait before the next try")
                return
            }
            waits.append(now.duration(to: until))
            now = until
            guard case .open(let timeout) = machine.nextStep(now: now) else {
                Issue.record("no new try after the wait")
                return
            }
            #expect(timeout == now.duration(to: start + .seconds(2)))
        }
        #expect(
            waits == [10, 20, 40, 80, 160, 320, 500, 500].map { Duration.milliseconds($0) },
            "waits double from 10 ms up to 500 ms, and stop at the 2 s connect timeout")
        #expect(machine.phase == .idle)
    }

    @Test func aFirstConnectionAndARefusedPasswordAreTriedOnce() {
        var first = machine()
        _ = first.submit(request("a", id: 1), now: start)
        _ = first.nextStep(now: start)
        let result22 = first.openFailed(RedisError(.connectionFailed, "refused"), now: start)
        #expect(result22 == ["a"])

        var refused = machine()
        connected(&refused, first: request("a", id: 1))
        _ = refused.lost(RedisError(.connectionLost, "closed"), now: start)
        _ = refused.submit(request("b", id: 2), now: start)
        _ = refused.nextStep(now: start)
        let result23 = refused.openFailed(RedisError(.server, "WRONGPASS"), now: start)
        #expect(result23 == ["b"])
    }

    @Test func aTLSHandshakeFailureFailsTheRequestsWithItsReason() {
        var machine = machine { $0.threadWritesOnly = true }
        _ = machine.submit(request("a", id: 1), now: start)
        _ = machine.submit(request("b", id: 2), now: start)
        let result24 = machine.nextStep(now: start)
        #expect(result24 == .open(timeout: .seconds(2)))
        let failed = machine.openFailed(
            RedisError(.connectionFailed, "TLS handshake failed: certificate verify failed (unable to get issuer)"),
            now: start)
        #expect(failed == ["a", "b"], "a certificate problem is not retried until the timeout")
        #expect(machine.phase == .idle)
        // Over TLS the thread writes everything, even on an idle connection: the caller wakes it.
        _ = machine.submit(request("c", id: 3), now: start)
        _ = machine.nextStep(now: start)
        machine.opened(socket: socket, now: start)
        _ = flushed(&machine)
        _ = machine.received([.status("C")])
        let idle = machine.nextStep(now: start)
        #expect(idle == .poll(writable: false, deadline: nil))
        guard case .wakeThread = machine.submit(request("d", id: 4), now: start) else {
            Issue.record("a caller wrote to a TLS connection")
            return
        }
    }

    @Test func aCancelledBlockingCommandInterruptsItsConnection() {
        var machine = machine { $0.interruptible = true }
        connected(&machine, first: request("blpop", id: 1, timeout: .seconds(30)))
        _ = flushed(&machine)
        let result25 = machine.nextStep(now: start + .seconds(10))
        #expect(result25 == .receive, "a blocking command waits past the timeout")
        guard case .interrupt(let socket) = machine.cancel(1) else {
            Issue.record("cancelling a blocking command did not interrupt the connection")
            return
        }
        #expect(socket == self.socket)
        let failure = machine.lost(RedisError(.connectionLost, "shut down"), now: start)
        #expect(failure.waiters == ["blpop"])
        #expect(failure.error is CancellationError)
    }

    @Test func aCancelledRequestWaitingForAConnectionIsDropped() {
        var machine = machine()
        _ = machine.submit(request("a", id: 1), now: start)
        _ = machine.submit(request("b", id: 2), now: start)
        guard case .fail(let waiter) = machine.cancel(1) else {
            Issue.record("a queued request was not dropped")
            return
        }
        #expect(waiter == "a")
        _ = machine.nextStep(now: start)
        machine.opened(socket: socket, now: start)
        let result26 = flushed(&machine)
        #expect(result26 == "<b>")
        // A request on the wire of a shared connection is not interrupted: others' replies follow it.
        guard case .none = machine.cancel(2) else {
            Issue.record("a shared connection was interrupted")
            return
        }
    }

    @Test func aRequestNotAnsweredInTimeTimesOut() {
        var machine = machine()
        connected(&machine, first: request("a", id: 1))
        _ = flushed(&machine)
        let result27 = machine.nextStep(now: start + .seconds(4))
        #expect(result27 == .receive)
        let result28 = machine.nextStep(now: start + .seconds(5))
        #expect(result28 == .timedOut)
        let failure = machine.lost(RedisError(.timeout, "did not reply"), now: start)
        #expect(failure.waiters == ["a"])
        #expect((failure.error as? RedisError)?.code == .timeout)
    }

    @Test func aFollowUpGoesOutWhenTheRepliesArriveAndItsRepliesAreAppended() {
        var machine = machine { $0.interruptible = true }
        var blocking = request("dequeue", id: 1, timeout: .seconds(10))
        blocking.followUp = { replies in replies[0] == .null ? [] : [RedisCommand("EVALSHA", "start")] }
        connected(&machine, first: blocking)
        _ = flushed(&machine)
        let result29 = machine.received([.bulk(Array("job".utf8))])
        #expect(result29.completed.isEmpty)
        let result30 = machine.nextStep(now: start)
        #expect(result30 == .flush)
        let result31 = flushed(&machine)
        #expect(result31.contains("EVALSHA"))
        let done = machine.received([.integer(1)])
        #expect(done.completed.first?.1 == [.bulk(Array("job".utf8)), .integer(1)])
    }

    @Test func aReplyNobodyAskedForAndAReadOnlyReplyBehindSentinelDropTheConnection() {
        var machine = machine()
        connected(&machine, first: request("a", id: 1))
        _ = flushed(&machine)
        let unexpected = machine.received([.status("A"), .status("?")])
        #expect(unexpected.completed.map(\.0) == ["a"])
        #expect(unexpected.drop?.code == .protocolError)

        var sentinel = self.machine { $0.readOnlyDropsConnection = true }
        connected(&sentinel, first: request("lpush", id: 1))
        _ = flushed(&sentinel)
        let demoted = sentinel.received([.error("READONLY You can't write against a read only replica.")])
        #expect(demoted.completed.map(\.0) == ["lpush"], "the caller gets its READONLY, a transient error")
        #expect(demoted.drop?.code == .connectionLost)
    }

    @Test func aDroppedConnectionFailsItsRequestsWithTheReason() {
        var machine = machine()
        connected(&machine, first: request("a", id: 1))
        let result32 = machine.dropConnection(reason: "the sentinels named a new master")
        #expect(result32 == socket)
        let failure = machine.lost(RedisError(.connectionLost, "closed"), now: start)
        #expect((failure.error as? RedisError)?.message == "the sentinels named a new master")
    }

    @Test func aPersistentConnectionDeliversPushesAndReconnectsForEver() {
        var machine = machine {
            $0.persistent = true
            $0.backoff = Backoff(first: .milliseconds(100), cap: .seconds(5))
        }
        let result33 = machine.start()
        #expect(result33)
        let result34 = machine.start()
        #expect(!result34)
        let result35 = machine.nextStep(now: start)
        #expect(result35 == .open(timeout: .seconds(2)))
        var now = start
        for _ in 0..<10 {  // far past the connect timeout: it keeps trying
            let result36 = machine.openFailed(RedisError(.connectionFailed, "refused"), now: now)
            #expect(result36.isEmpty)
            guard case .sleep(let until?) = machine.nextStep(now: now) else {
                Issue.record("no wait between tries")
                return
            }
            now = until
            guard case .open = machine.nextStep(now: now) else {
                Issue.record("no new try")
                return
            }
        }
        machine.opened(socket: socket, now: now)
        let result37 = machine.nextStep(now: now)
        #expect(result37 == .poll(writable: false, deadline: nil))
        let message = RedisValue.array([.bulk(Array("message".utf8)), .bulk(Array("ch".utf8)), .bulk([1])])
        let result38 = machine.received([message])
        #expect(result38.pushes == [message])
        _ = machine.lost(RedisError(.connectionLost, "closed"), now: now)
        guard case .sleep = machine.nextStep(now: now) else {
            Issue.record("a lost persistent connection does not back off")
            return
        }
        let result39 = machine.close()
        #expect(result39)
        let result40 = machine.nextStep(now: now)
        #expect(result40 == .shutDown)
    }

    @Test func closingFinishesWhatIsInFlightThenShutsDown() {
        var machine = machine()
        connected(&machine, first: request("a", id: 1))
        _ = flushed(&machine)
        let result41 = machine.close()
        #expect(result41)
        guard case .fail(let waiter, let error) = machine.submit(request("b", id: 2), now: start) else {
            Issue.record("a closed connection took a request")
            return
        }
        #expect(waiter == "b")
        #expect(error.code == .closed)
        let result42 = machine.nextStep(now: start)
        #expect(result42 == .receive)
        let result43 = machine.received([.status("A")])
        #expect(result43.completed.map(\.0) == ["a"])
        let result44 = machine.nextStep(now: start)
        #expect(result44 == .shutDown)
    }
}
