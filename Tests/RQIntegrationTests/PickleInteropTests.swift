import Foundation
import RQ
import RQTesting
import Testing

/// Python RQ's default serializer (pickle) on both sides: Python producers without `serializer=` and Swift workers,
/// Swift producers with `.pickle` and Python workers without `-S`.
@Suite struct PickleInteropTests {
    /// Runs Swift workers (horses of the example runner) until the queue is empty.
    private func runSwiftWorker(queue: String, redis: Redis) async throws {
        let worker = RunningWorker.start(queues: [queue], redis: redis, burst: true)
        try await worker.task.value
    }

    @Test func pythonDefaultSerializerJobsRunOnSwiftWorkers() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let name = uniqueName()
        let ids = try await Python.run(
            """
            q = Queue('\(name)', connection=r)
            add = q.enqueue('examples.add', 2, 3)
            echo = q.enqueue('examples.echo', 2**70, (1, 'a'), {'s': frozenset([5])}, -2**64, 1.5, None,
                             big=-2**80, nested={'t': (True, [None, 'é'])})
            progress = q.enqueue('examples.progress', 2, meta={'owner': 'python', 'n': 2**65})
            print(json.dumps([add.id, echo.id, progress.id]))
            """, url: server.url)
        let (addID, echoID, progressID) = try #require(
            ids.arrayValue.flatMap { ids in
                ids.count == 3 ? (ids[0].stringValue!, ids[1].stringValue!, ids[2].stringValue!) : nil
            })

        // Swift reads the pickled call.
        let echo = try await Job.fetch(id: echoID, redis: redis)
        #expect(echo.serializer == .pickle)
        #expect(
            echo.args == [
                .bigInt("1180591620717411303424"), [1, "a"], ["s": [5]], .bigInt("-18446744073709551616"), 1.5, nil,
            ])
        #expect(echo.kwargs == ["big": .bigInt("-1208925819614629174706176"), "nested": ["t": [true, [nil, "é"]]]])
        #expect(
            try await Job.fetch(id: progressID, redis: redis).meta == [
                "owner": "python", "n": .bigInt("36893488147419103232"),
            ])

        try await runSwiftWorker(queue: name, redis: redis)

        // Python reads results and meta written by the Swift worker, with its default serializer.
        let python = try await Python.run(
            """
            add, echo, progress = (Job.fetch(i, connection=r) for i in \(ids))
            value = echo.return_value()
            expected = {'args': [2**70, [1, 'a'], {'s': [5]}, -2**64, 1.5, None],
                        'kwargs': {'big': -2**80, 'nested': {'t': [True, [None, 'é']]}}}
            print(json.dumps({
                'statuses': [j.get_status() for j in (add, echo, progress)],
                'add': add.return_value(), 'echo_equal': value == expected, 'echo': repr(value),
                'big_type': type(value['args'][0]).__name__,
                'progress': progress.return_value(), 'meta': repr(progress.get_meta()),
                'meta_equal': progress.get_meta() == {'owner': 'python', 'n': 2**65, 'progress': 2},
            }))
            """, url: server.url)
        #expect(python["statuses"] == ["finished", "finished", "finished"])
        #expect(python["add"] == 5)
        #expect(python["echo_equal"] == true, "\(python["echo"] ?? nil)")
        #expect(python["big_type"] == "int")
        #expect(python["progress"] == 2)
        #expect(python["meta_equal"] == true, "\(python["meta"] ?? nil)")
        // And Swift reads the pickled result back.
        #expect(try await Job.fetch(id: addID, redis: redis).result(timeout: .seconds(30)) == 5)
    }

    @Test func aDatetimeArgumentFailsTheJobNamingTheType() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let name = uniqueName()
        let id = try await Python.run(
            """
            import datetime
            job = Queue('\(name)', connection=r).enqueue('examples.echo', datetime.datetime(2024, 1, 2, 3, 4, 5))
            print(json.dumps(job.id))
            """, url: server.url)
        try await runSwiftWorker(queue: name, redis: redis)

        let python = try await Python.run(
            """
            job = Job.fetch('\(id.stringValue!)', connection=r)
            result = job.latest_result()
            print(json.dumps({'status': job.get_status(), 'exc': result.exc_string, 'type': result.type.value,
                              'failed': job.id in Queue('\(name)', connection=r).failed_job_registry}))
            """, url: server.url)
        #expect(python["status"] == "failed")
        #expect(python["type"] == 2)
        #expect(python["failed"] == true)
        let text = python["exc"]?.stringValue ?? ""
        #expect(text.contains("datetime.datetime") && text.contains("field 'data'"), "\(text)")
    }

    @Test func swiftPickleJobsRunOnPythonDefaultWorkers() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let name = uniqueName()
        let cliID = uniqueName("job")
        let (status, output) = try await runCommand(
            rqPath,
            [
                "enqueue", "-u", server.url, "-S", "pickle", "-q", name, "--job-id", cliID, "examples.add", ":2",
                ":18446744073709551616",
            ])
        #expect(status == 0, "\(output)")
        let queue = Queue(name, redis: redis, serializer: .pickle)
        var echo = try await queue.enqueue(
            "examples.echo", args: [.bigInt("-170141183460469231731687303715884105729"), ["a": [1.5, nil]]],
            kwargs: ["k": "é"], options: EnqueueOptions(meta: ["owner": "swift"]))
        echo.meta["step"] = 1
        try await echo.saveMeta()

        let before = try await Python.run(
            """
            job = Job.fetch('\(echo.id)', connection=r)
            print(json.dumps({'args': repr(job.args), 'meta': repr(job.get_meta()), 'call': job.get_call_string()}))
            """, url: server.url)
        #expect(before["args"] == "(-170141183460469231731687303715884105729, {'a': [1.5, None]})")
        #expect(before["meta"] == "{'owner': 'swift', 'step': 1}")
        #expect(before["call"] == "examples.echo(-170141183460469231731687303715884105729, {'a': [1.5, None]}, k='é')")

        // Python's worker with its default serializer (no -S).
        _ = try await Python.execute(
            ["python3", "-m", "rq.cli", "worker", "--burst", "-u", server.url, name], url: server.url)

        let cliJob = try await Job.fetch(id: cliID, redis: redis)
        #expect(cliJob.serializer == .pickle)
        #expect(try await cliJob.result(timeout: .seconds(30)) == .bigInt("18446744073709551618"))
        #expect(
            try await echo.result(timeout: .seconds(30))
                == [
                    "args": [.bigInt("-170141183460469231731687303715884105729"), ["a": [1.5, nil]]],
                    "kwargs": ["k": "é"],
                ])
    }

    /// `rq cron` enqueues with Python RQ's default serializer, whatever the workers use.
    @Test func pythonCronJobsRunOnSwiftWorkers() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let name = uniqueName()
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)_cron.py")
        try Data(
            """
            from rq import cron
            from examples import echo
            cron.register(echo, queue_name='\(name)', args=(2**64, (1, 'a')), interval=3600, name='\(name)')
            """.utf8
        ).write(to: config)
        defer { try? FileManager.default.removeItem(at: config) }
        let process = try CommandProcess(
            "/usr/bin/env",
            ["PYTHONPATH=\(Python.modulePath)", "python3", "-m", "rq.cli", "cron", "-u", server.url, config.path])
        let queue = Queue(name, redis: redis)
        let enqueued = try await eventually(timeout: .seconds(20)) { try await queue.count() == 1 }
        process.signal(SIGTERM)
        _ = await process.waitForExit(timeout: .seconds(10))
        #expect(enqueued, "\(process.log)")
        let id = try #require(try await queue.jobIDs().first)
        #expect(try await Job.fetch(id: id, redis: redis).serializer == .pickle)

        try await runSwiftWorker(queue: name, redis: redis)
        let python = try await Python.run(
            """
            job = Job.fetch('\(id)', connection=r)
            result = job.latest_result()
            print(json.dumps({'status': job.get_status(), 'exc': result.exc_string,
                              'equal': result.return_value == {'args': [2**64, [1, 'a']], 'kwargs': {}}}))
            """, url: server.url)
        #expect(python["status"] == "finished", "\(python["exc"] ?? nil)")
        #expect(python["equal"] == true)
    }

    /// What Swift writes is what Python's `pickle.dumps(value, protocol=5)` writes, byte for byte (batches of
    /// 1000, long ints, nesting), and Python reads it back as the same value — also past 64 KiB, where Python would
    /// split frames and the bytes differ.
    @Test func pythonReadsAndMatchesWhatTheWriterWrites() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis, serializer: .pickle)
        let small = try await queue.enqueue(
            "examples.echo",
            args: [
                .array((0..<2500).map { .int($0 * 7919 - 5_000_000) }),
                .object(JSONObject((0..<1001).map { ("k\($0)", .double(Double($0) / 3)) })),
                .bigInt("-" + String(repeating: "9", count: 700)),
                ["nested": [[[], [:], ""]], "int": .int(.min), "bool": false, "none": nil],
            ])
        let large = try await queue.enqueue(
            "examples.echo", args: [.string(String(repeating: "é✓", count: 40_000))], kwargs: ["n": .int(1 << 40)])
        let python = try await Python.run(
            """
            import pickle, zlib
            def load(id):
                data = zlib.decompress(r.hget('rq:job:' + id, 'data'))
                return data, pickle.loads(data)
            data, (func, instance, args, kwargs) = load('\(small.id)')
            expected = (
                [i * 7919 - 5000000 for i in range(2500)],
                {f'k{i}': i / 3 for i in range(1001)},
                -int('9' * 700),
                {'nested': [[[], {}, '']], 'int': -2**63, 'bool': False, 'none': None},
            )
            large = load('\(large.id)')[1]
            print(json.dumps({
                'equal': (func, instance, args, kwargs) == ('examples.echo', None, expected, {}),
                'same_bytes': pickle.dumps((func, None, expected, {}), protocol=5) == data,
                'large': large == ('examples.echo', None, ('é✓' * 40000,), {'n': 2**40}),
            }))
            """, url: server.url)
        #expect(python["equal"] == true)
        #expect(python["same_bytes"] == true)
        #expect(python["large"] == true)
    }
}
