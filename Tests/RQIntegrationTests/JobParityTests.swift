import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

/// What the job-management tests compare between a twin that Python RQ changed and one that Swift changed: the queue
/// list (in order), every registry but the started one, and each job's status and dependents, ids replaced by the
/// roles the test gave them.
func jobLayout(queue: String, roles: [String: String], redis: Redis) async throws -> [String: [String]] {
    let names = Dictionary(uniqueKeysWithValues: roles.map { ($0.value, $0.key) })
    func role(_ id: String) -> String { names[id] ?? "unknown \(id)" }
    var layout: [String: [String]] = [:]
    layout["queue"] = try await redis.send("LRANGE", "rq:queue:\(queue)", 0, -1).strings.map(role)
    for kind in ["finished", "failed", "deferred", "scheduled", "canceled"] {
        layout[kind] = try await redis.send("ZRANGE", "rq:\(kind):\(queue)", 0, -1).strings.map(role).sorted()
    }
    for (name, id) in roles {
        layout["\(name) status"] = [try await redis.send("HGET", "rq:job:\(id)", "status").string ?? "<no job>"]
        layout["\(name) dependents"] = try await redis.send("SMEMBERS", "rq:job:\(id):dependents").strings.map(role)
            .sorted()
    }
    return layout
}

/// The same jobs made on two queues, one for Python to change and one for Swift.
struct Twins {
    let python: (queue: String, roles: [String: String])
    let swift: (queue: String, roles: [String: String])

    /// Runs `build` (which returns the ids of the jobs by role) once for each twin.
    static func make(redis: Redis, _ build: (Queue) async throws -> [String: String]) async throws -> Twins {
        let python = Queue(uniqueName("py"), redis: redis)
        let swift = Queue(uniqueName("sw"), redis: redis)
        return Twins(
            python: (python.name, try await build(python)), swift: (swift.name, try await build(swift)))
    }

    func layouts(redis: Redis) async throws -> (python: [String: [String]], swift: [String: [String]]) {
        (
            try await jobLayout(queue: python.queue, roles: python.roles, redis: redis),
            try await jobLayout(queue: swift.queue, roles: swift.roles, redis: redis)
        )
    }
}

@Suite struct JobParityTests {
    @Test func dependentsAreReleasedAcrossLanguagesAsPythonReleasesThem() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()

        // A Swift worker finishes Swift parents of Python dependents: the one that allows failures runs after a
        // failed parent, the other stays deferred.
        let swiftRun = Queue(uniqueName(), redis: redis)
        let parent = try await swiftRun.enqueue("examples.add", args: [1, 2])
        let failing = try await swiftRun.enqueue("examples.fail", args: ["parent"])
        let python = try await Python.run(
            """
            q = Queue('\(swiftRun.name)', connection=r, serializer=JSONSerializer)
            d = q.enqueue('examples.add', 3, 4, depends_on='\(parent.id)')
            allowed = q.enqueue('examples.add', 5, 6, depends_on=Dependency(jobs=['\(failing.id)'], allow_failure=True))
            strict = q.enqueue('examples.add', 7, 8, depends_on='\(failing.id)')
            print(json.dumps({'d': d.id, 'allowed': allowed.id, 'strict': strict.id, 'status': d.get_status()}))
            """, url: server.url)
        #expect(python["status"] == "deferred")
        let ids = try #require(python.objectValue).reduce(into: [String: String]()) {
            $0[$1.key] = $1.value.stringValue
        }
        #expect(
            try await swiftRun.deferredJobRegistry.jobIDs().sorted()
                == [ids["d"]!, ids["allowed"]!, ids["strict"]!].sorted())
        #expect(try await parent.dependentIDs() == [ids["d"]!])
        let worker = RunningWorker.start(queues: [swiftRun.name], redis: redis, inProcess: true, burst: true)
        try await worker.task.value
        #expect(try await Job.fetch(id: ids["d"]!, redis: redis).result(timeout: .seconds(30)) == 7)
        #expect(try await Job.fetch(id: ids["allowed"]!, redis: redis).result(timeout: .seconds(30)) == 11)
        #expect(try await Job.fetch(id: ids["strict"]!, redis: redis).currentStatus() == .deferred)
        #expect(try await parent.dependentIDs() == [])
        #expect(try await failing.dependentIDs() == [ids["strict"]!])

        // A Python worker finishes Python parents of Swift dependents, the same way.
        let pythonRun = Queue(uniqueName(), redis: redis)
        let parents = try await Python.run(
            """
            q = Queue('\(pythonRun.name)', connection=r, serializer=JSONSerializer)
            print(json.dumps([q.enqueue('examples.add', 1, 2).id, q.enqueue('examples.fail', 'parent').id]))
            """, url: server.url)
        let pythonParent = try #require(parents.arrayValue?[0].stringValue)
        let pythonFailing = try #require(parents.arrayValue?[1].stringValue)
        let dependent = try await pythonRun.enqueue(
            "examples.add", args: [3, 4], options: EnqueueOptions(dependsOn: [pythonParent]))
        let allowed = try await pythonRun.enqueue(
            "examples.add", args: [5, 6],
            options: EnqueueOptions(dependsOn: JobDependency(jobIDs: [pythonFailing], allowFailure: true)))
        let strict = try await pythonRun.enqueue(
            "examples.add", args: [7, 8], options: EnqueueOptions(dependsOn: [pythonFailing]))
        #expect(dependent.status == .deferred)
        try await Python.burstWorker(queues: [pythonRun.name], url: server.url)
        #expect(try await dependent.result(timeout: .seconds(30)) == 7)
        #expect(try await allowed.result(timeout: .seconds(30)) == 11)
        #expect(try await strict.currentStatus() == .deferred)
        #expect(try await pythonRun.deferredJobRegistry.jobIDs() == [strict.id])
    }

    @Test func cancelLeavesWhatPythonsCancelLeaves() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        // A queued parent with two deferred dependents (one also waiting on a second, unfinished parent), and a
        // queued job waiting on nothing.
        let twins = try await Twins.make(redis: redis) { queue in
            let parent = try await queue.enqueue("examples.noop")
            let other = try await queue.enqueue("examples.noop")
            let only = try await queue.enqueue("examples.noop", options: EnqueueOptions(dependsOn: [parent.id]))
            let both = try await queue.enqueue(
                "examples.noop", options: EnqueueOptions(dependsOn: [parent.id, other.id]))
            let plain = try await queue.enqueue("examples.noop")
            let waiting = try await queue.enqueue("examples.noop", options: EnqueueOptions(dependsOn: [other.id]))
            return [
                "parent": parent.id, "other": other.id, "only": only.id, "both": both.id, "plain": plain.id,
                "waiting": waiting.id,
            ]
        }
        let p = twins.python.roles
        _ = try await Python.run(
            """
            from rq.job import cancel_job
            cancel_job('\(p["parent"]!)', r, serializer=JSONSerializer, enqueue_dependents=True)
            cancel_job('\(p["plain"]!)', r, serializer=JSONSerializer)
            Job.fetch('\(p["waiting"]!)', connection=r, serializer=JSONSerializer).cancel(remove_from_dependencies=True)
            print('null')
            """, url: server.url)
        let s = twins.swift.roles
        try await Job.cancel(id: s["parent"]!, redis: redis, enqueueDependents: true)
        try await Job.fetch(id: s["plain"]!, redis: redis).cancel()
        try await Job.fetch(id: s["waiting"]!, redis: redis).cancel(removeFromDependencies: true)

        let (python, swift) = try await twins.layouts(redis: redis)
        #expect(swift == python)
        // What Python did, spelled out: `only` was released, `both` still waits on `other`.
        #expect(swift["queue"] == ["other", "only"])
        #expect(swift["canceled"] == ["parent", "plain", "waiting"])
        #expect(swift["deferred"] == ["both"])
        #expect(swift["other dependents"] == ["both"])
        await #expect(throws: RQError.self) { try await Job.cancel(id: s["parent"]!, redis: redis) }
    }

    @Test func deleteWithDependentsLeavesWhatPythonsLeaves() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let twins = try await Twins.make(redis: redis) { queue in
            let parent = try await queue.enqueue("examples.noop")
            let child = try await queue.enqueue("examples.noop", options: EnqueueOptions(dependsOn: [parent.id]))
            let sibling = try await queue.enqueue("examples.noop", options: EnqueueOptions(dependsOn: [parent.id]))
            let grandchild = try await queue.enqueue("examples.noop", options: EnqueueOptions(dependsOn: [child.id]))
            let keep = try await queue.enqueue("examples.noop")
            let lone = try await queue.enqueue("examples.noop", options: EnqueueOptions(dependsOn: [keep.id]))
            return [
                "parent": parent.id, "child": child.id, "sibling": sibling.id, "grandchild": grandchild.id,
                "keep": keep.id, "lone": lone.id,
            ]
        }
        let p = twins.python.roles
        _ = try await Python.run(
            """
            Job.fetch('\(p["parent"]!)', connection=r, serializer=JSONSerializer).delete(delete_dependents=True)
            Job.fetch('\(p["keep"]!)', connection=r, serializer=JSONSerializer).delete()
            print('null')
            """, url: server.url)
        let s = twins.swift.roles
        try await Job.fetch(id: s["parent"]!, redis: redis).delete(deleteDependents: true)
        try await Job.fetch(id: s["keep"]!, redis: redis).delete()

        let (python, swift) = try await twins.layouts(redis: redis)
        #expect(swift == python)
        #expect(swift["child status"] == ["<no job>"])
        #expect(swift["grandchild status"] == ["deferred"], "one level deep, as Python")
        #expect(swift["lone status"] == ["deferred"])
        #expect(swift["deferred"] == ["grandchild", "lone"])
    }

    @Test func requeueFromEveryRegistryAsPythonRequeues() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let twins = try await Twins.make(redis: redis) { queue in
            let ok = try await queue.enqueue("examples.add", args: [1, 2])
            let failed = try await queue.enqueue("examples.fail", args: ["x"])
            let worker = RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true, burst: true)
            try await worker.task.value
            let canceled = try await queue.enqueue("examples.noop")
            try await canceled.cancel()
            let parent = try await queue.enqueue("examples.noop")
            let deferred = try await queue.enqueue("examples.noop", options: EnqueueOptions(dependsOn: [parent.id]))
            let scheduled = try await queue.enqueue(in: .seconds(3600), "examples.noop")
            return [
                "ok": ok.id, "failed": failed.id, "canceled": canceled.id, "parent": parent.id,
                "deferred": deferred.id, "scheduled": scheduled.id,
            ]
        }
        let p = twins.python.roles
        let pythonErrors = try await Python.run(
            """
            from rq.registry import (FinishedJobRegistry, FailedJobRegistry, CanceledJobRegistry, DeferredJobRegistry,
                                     ScheduledJobRegistry)
            name = '\(twins.python.queue)'
            kw = dict(connection=r, serializer=JSONSerializer)
            FailedJobRegistry(name, **kw).requeue('\(p["failed"]!)')
            FinishedJobRegistry(name, **kw).requeue('\(p["ok"]!)', at_front=True)
            CanceledJobRegistry(name, **kw).requeue('\(p["canceled"]!)')
            DeferredJobRegistry(name, **kw).requeue('\(p["deferred"]!)')
            ScheduledJobRegistry(name, **kw).requeue('\(p["scheduled"]!)', at_front=True)
            errors = []
            try:
                FailedJobRegistry(name, **kw).requeue('\(p["parent"]!)')
            except Exception as e:
                errors.append(type(e).__name__)
            print(json.dumps(errors))
            """, url: server.url)
        #expect(pythonErrors == ["InvalidJobOperation"])
        let s = twins.swift.roles
        let queue = Queue(twins.swift.queue, redis: redis)
        let requeued = try await queue.failedJobRegistry.requeue(s["failed"]!)
        #expect(requeued.status == .queued && requeued.startedAt == nil)
        try await queue.finishedJobRegistry.requeue(s["ok"]!, atFront: true)
        try await queue.canceledJobRegistry.requeue(s["canceled"]!)
        try await queue.deferredJobRegistry.requeue(s["deferred"]!)
        try await queue.scheduledJobRegistry.requeue(s["scheduled"]!, atFront: true)
        await #expect(throws: RQError.self) { try await queue.failedJobRegistry.requeue(s["parent"]!) }

        let (python, swift) = try await twins.layouts(redis: redis)
        #expect(swift == python)
        #expect(swift["queue"] == ["scheduled", "ok", "parent", "failed", "canceled", "deferred"])
        for kind in ["finished", "failed", "deferred", "scheduled", "canceled"] { #expect(swift[kind] == []) }
        // Python reads the requeued jobs, and runs them.
        try await Python.burstWorker(queues: [queue.name], url: server.url)
        #expect(try await Job.fetch(id: s["ok"]!, redis: redis).currentStatus() == .finished)
        #expect(try await Job.fetch(id: s["scheduled"]!, redis: redis).currentStatus() == .finished)
    }

    @Test func jobIDsInDescendingOrderAsPythonsGetJobIDs() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        var ids: [String] = []
        for hours in [5, 1, 3, 2, 4] {
            ids.append(try await queue.enqueue(in: .seconds(3600 * hours), "examples.noop").id)
        }
        let python = try await Python.run(
            """
            from rq.registry import ScheduledJobRegistry
            registry = ScheduledJobRegistry('\(queue.name)', connection=r, serializer=JSONSerializer)
            print(json.dumps([registry.get_job_ids(), registry.get_job_ids(0, 2, desc=True),
                              registry.get_job_ids(1, -1, desc=True)]))
            """, url: server.url)
        let registry = queue.scheduledJobRegistry
        let ascending = try await registry.jobIDs()
        #expect(ascending == [ids[1], ids[3], ids[2], ids[4], ids[0]])
        let lists = try #require(python.arrayValue)
        #expect(lists[0] == .array(ascending.map(JSONValue.string)))
        #expect(
            lists[1] == .array(try await registry.jobIDs(offset: 0, length: 3, descending: true).map(JSONValue.string)))
        #expect(lists[2] == .array(try await registry.jobIDs(offset: 1, descending: true).map(JSONValue.string)))
        #expect(try await registry.jobIDs(descending: true) == ascending.reversed())
    }

    @Test func registryCleanupAsPythonsCleanup() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let past = Int(Date().timeIntervalSince1970) - 100
        let future = past + 10_000
        // In each registry an expired entry and a live one; in the started registry a job whose worker died.
        let twins = try await Twins.make(redis: redis) { queue in
            var roles: [String: String] = [:]
            for kind in ["finished", "failed", "deferred", "canceled"] {
                for (when, score) in [("old", past), ("new", future)] {
                    let job = try await queue.enqueue("examples.noop")
                    try await queue.remove(job)
                    try await redis.send("ZADD", "rq:\(kind):\(queue.name)", score, job.id)
                    roles["\(kind) \(when)"] = job.id
                }
            }
            let abandoned = try await queue.enqueue("examples.noop")
            try await queue.remove(abandoned)
            try await redis.send("HSET", "rq:job:\(abandoned.id)", "status", "started")
            try await redis.send("ZADD", "rq:wip:\(queue.name)", past, "\(abandoned.id):0123abcd")
            roles["abandoned"] = abandoned.id
            return roles
        }
        _ = try await Python.run(
            """
            from rq.registry import (StartedJobRegistry, FinishedJobRegistry, FailedJobRegistry, DeferredJobRegistry,
                                     CanceledJobRegistry)
            for cls in (StartedJobRegistry, FinishedJobRegistry, FailedJobRegistry, DeferredJobRegistry,
                        CanceledJobRegistry):
                cls('\(twins.python.queue)', connection=r, serializer=JSONSerializer).cleanup()
            print('null')
            """, url: server.url)
        let queue = Queue(twins.swift.queue, redis: redis)
        for registry in [
            queue.startedJobRegistry, queue.finishedJobRegistry, queue.failedJobRegistry, queue.deferredJobRegistry,
            queue.canceledJobRegistry,
        ] {
            try await registry.cleanup()
        }
        let (python, swift) = try await twins.layouts(redis: redis)
        #expect(swift == python)
        #expect(swift["finished"] == ["finished new"])
        #expect(swift["failed"] == ["abandoned", "failed new"])
        #expect(swift["deferred"] == ["deferred new", "deferred old"])
        #expect(swift["canceled"] == ["canceled new", "canceled old"])
        #expect(try await queue.startedJobRegistry.count() == 0)
        let text = try await Job.fetch(id: twins.swift.roles["abandoned"]!, redis: redis).latestResult()?.excString
        #expect(text?.contains("AbandonedJobError") == true)
    }

    @Test func queueRemoveAsPythonsRemove() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let twins = try await Twins.make(redis: redis) { queue in
            let a = try await queue.enqueue("examples.noop")
            let b = try await queue.enqueue("examples.noop")
            try await redis.send("RPUSH", queue.key, b.id)
            return ["a": a.id, "b": b.id]
        }
        _ = try await Python.run(
            """
            Queue('\(twins.python.queue)', connection=r, serializer=JSONSerializer).remove('\(twins.python.roles["b"]!)')
            print('null')
            """, url: server.url)
        let queue = Queue(twins.swift.queue, redis: redis)
        #expect(try await queue.remove(twins.swift.roles["b"]!) == 1)
        let (python, swift) = try await twins.layouts(redis: redis)
        #expect(swift == python)
        #expect(swift["queue"] == ["a", "b"], "one occurrence removed")
        #expect(swift["b status"] == ["queued"], "the job hash stays")
    }

    @Test func maintenancePrunesGroupsAsPythonsMaintenance() async throws {
        // Group pruning covers every group on the server: a server of its own.
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        func makeGroups(_ tag: String) async throws -> [String] {
            let partly = try await queue.enqueueMany(
                [EnqueueRequest("examples.noop"), EnqueueRequest("examples.noop")], groupID: "partly-\(tag)")
            let python = try await Python.run(
                """
                from rq.group import Group
                q = Queue('\(queue.name)', connection=r, serializer=JSONSerializer)
                g = Group.create(connection=r, name='gone-\(tag)')
                jobs = g.enqueue_many(q, [Queue.prepare_data('examples.noop'), Queue.prepare_data('examples.noop')])
                print(json.dumps([j.id for j in jobs]))
                """, url: server.url)
            _ = try await queue.enqueueMany([EnqueueRequest("examples.noop")], groupID: "intact-\(tag)")
            // Hashes that expired: one of `partly`, both of `gone`.
            let expired = [partly[0].id] + (python.arrayValue ?? []).compactMap(\.stringValue)
            try await redis.send(RedisCommand("DEL", arguments: expired.map { "rq:job:\($0)" }))
            return [partly[1].id]
        }
        let swiftKept = try await makeGroups("swift")
        let worker = RunningWorker.start(queues: [uniqueName()], redis: redis, inProcess: true, burst: true)
        try await worker.task.value
        #expect(try await JobGroup.allNames(redis: redis) == ["intact-swift", "partly-swift"])
        #expect(try await JobGroup(name: "partly-swift", redis: redis).jobIDs() == swiftKept)

        let pythonKept = try await makeGroups("python")
        _ = try await Python.run(
            "from rq.group import Group\nGroup.clean_registries(r)\nprint('null')", url: server.url)
        #expect(
            try await JobGroup.allNames(redis: redis) == [
                "intact-python", "intact-swift", "partly-python", "partly-swift",
            ])
        #expect(try await JobGroup(name: "partly-python", redis: redis).jobIDs() == pythonKept)
        #expect(try await redis.send("EXISTS", "rq:group:gone-python").int == 0)
        await server.stop()
    }
}
