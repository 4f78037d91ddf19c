import ExampleFunctions
import Foundation
import InMemoryTracing
import RQ
import RQTesting
import Testing
import Tracing

/// Distributed tracing: producer and consumer spans, and one trace across Python RQ (with PyPI's
/// `opentelemetry-instrumentation-rq` and the OpenTelemetry SDK) and swift-rq (with a W3C in-memory tracer).
@Suite struct TracingTests {
    /// Python with the OpenTelemetry SDK and `opentelemetry-instrumentation-rq` on; `spans()` gives what was recorded.
    /// Spans are exported to a file as they end (not kept in memory): a Python `Worker` runs each job in a forked
    /// horse, whose spans the parent's memory never sees.
    static let instrumentedPython = """
        import contextlib, tempfile
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
        from opentelemetry_instrumentation_rq import RQInstrumentor
        spans_file = tempfile.NamedTemporaryFile(prefix='rq-spans-', delete=False).name

        class FileExporter(SpanExporter):
            def export(self, spans):
                with open(spans_file, 'a') as f:
                    for s in spans:
                        f.write(json.dumps({
                            'name': s.name, 'kind': s.kind.name, 'status': s.status.status_code.name,
                            'trace_id': format(s.context.trace_id, '032x'),
                            'span_id': format(s.context.span_id, '016x'),
                            'parent_id': format(s.parent.span_id, '016x') if s.parent else None,
                            'attributes': dict(s.attributes),
                        }) + '\\n')
                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(FileExporter()))
        trace.set_tracer_provider(provider)
        RQInstrumentor().instrument()

        def spans():
            with open(spans_file) as f:
                found = [json.loads(line) for line in f]
            os.unlink(spans_file)
            return found

        """

    /// A job in a horse runs in the context of its worker's consumer span — in a one-job horse and in a reusable
    /// one, each job in its own span's — so the spans it starts (with a tracer the runner bootstraps) are children of
    /// the consumer span.
    @Test(arguments: [1, 5])
    func aJobInAHorseRunsInItsConsumerSpansContext(maxJobsPerHorse: Int) async throws {
        let redis = try await SharedRedis.client()
        let name = uniqueName()
        let queue = Queue(name, redis: redis)
        let jobs = [try await queue.enqueue("tracing.traceparent"), try await queue.enqueue("tracing.traceparent")]
        let tracer = W3CTestTracer()
        try await withTracer(tracer) {
            try await RunningWorker.start(queues: [name], redis: redis, burst: true) {
                $0.execution = .horse(runner: builtExecutable("TracingRunner"))
                $0.maxJobsPerHorse = maxJobsPerHorse
            }.task.value
        }
        for job in jobs {
            let seen = try await job.result(as: String.self, timeout: .seconds(30))
            let consume = try #require(
                tracer.finishedSpans.first {
                    $0.operationName == "consume \(name)" && $0.attributes.get("rq.job.id") == .string(job.id)
                })
            #expect(seen == "00-\(consume.traceID)-\(consume.spanID)-01", "the job's context is its consumer span")
        }
    }

    @Test func pythonProducerSpanIsTheParentOfTheSwiftWorkersSpan() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let name = uniqueName()
        let python = try await Python.run(
            Self.instrumentedPython + """
                job = Queue('\(name)', connection=r, serializer=JSONSerializer).enqueue('examples.add', 2, 3)
                print(json.dumps({'job': job.id, 'spans': spans()}))
                """, url: server.url)
        let jobID = try #require(python["job"]?.stringValue)
        let publish = try #require(python["spans"]?.arrayValue?.first { $0["name"] == .string("publish \(name)") })
        #expect(publish["kind"] == "PRODUCER")

        // A Swift worker (horses, burst) in a task that has the tracer.
        let tracer = W3CTestTracer()
        try await withTracer(tracer) {
            try await RunningWorker.start(queues: [name], redis: redis, burst: true).task.value
        }
        #expect(try await Job.fetch(id: jobID, redis: redis).result(as: Int.self, timeout: .seconds(30)) == 5)

        let consume = try #require(tracer.finishedSpans.first { $0.operationName == "consume \(name)" })
        #expect(consume.kind == .consumer)
        #expect(consume.traceID == publish["trace_id"]?.stringValue, "one trace id on both sides")
        #expect(consume.parentSpanID == publish["span_id"]?.stringValue, "the Python producer span is the parent")
        #expect(consume.status?.code == .ok)
        #expect(consume.attributes.get("rq.job.id") == .string(jobID))
        #expect(consume.attributes.get("rq.job.function") == .string("examples.add"))
        #expect(consume.attributes.get("messaging.destination.name") == .string(name))
        #expect(consume.attributes.get("messaging.operation.type") == .string("process"))
        // The attributes Python's producer span has for the same job, with the same values.
        for key in ["messaging.system", "messaging.destination.name", "rq.job.id", "rq.job.function"] {
            #expect(
                consume.attributes.get(key) == publish["attributes"]?[key]?.stringValue.map { .string($0) }, "\(key)")
        }
    }

    @Test func swiftProducerSpanIsTheParentOfThePythonWorkersSpan() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let tracer = W3CTestTracer()
        let job = try await withTracer(tracer) {
            try await withSpan("checkout") { _ in try await queue.enqueue(ExampleFunctions.add, 2, 3) }
        }
        let checkout = try #require(tracer.finishedSpans.first { $0.operationName == "checkout" })
        let publish = try #require(tracer.finishedSpans.first { $0.operationName == "publish \(queue.name)" })
        #expect(publish.kind == .producer)
        #expect(publish.traceID == checkout.traceID && publish.parentSpanID == checkout.spanID)
        #expect(publish.attributes.get("rq.job.id") == .string(job.id))
        #expect(publish.attributes.get("messaging.operation.type") == .string("send"))
        let meta = try await Job.fetch(id: job.id, redis: redis).meta
        #expect(meta["traceparent"] == .string("00-\(publish.traceID)-\(publish.spanID)-01"))

        // An instrumented Python worker (burst, JSON) runs it in a forked horse; its log goes to stderr, not the
        // JSON. (Not a SimpleWorker: the instrumentation wraps `Worker.perform_job`, and RQ 2.12's SimpleWorker
        // derives from BaseWorker, so it would run the job untraced.)
        let python = try await Python.run(
            Self.instrumentedPython + """
                from rq import Worker
                q = Queue('\(queue.name)', connection=r, serializer=JSONSerializer)
                with contextlib.redirect_stdout(sys.stderr):
                    Worker([q], connection=r, serializer=JSONSerializer).work(burst=True)
                job = Job.fetch('\(job.id)', connection=r, serializer=JSONSerializer)
                print(json.dumps({'result': job.return_value(), 'spans': spans()}))
                """, url: server.url)
        #expect(python["result"] == 5)
        let consume = try #require(
            python["spans"]?.arrayValue?.first { $0["name"] == .string("consume \(queue.name)") })
        #expect(consume["kind"] == "CONSUMER")
        #expect(consume["trace_id"]?.stringValue == publish.traceID, "one trace id on both sides")
        #expect(consume["parent_id"]?.stringValue == publish.spanID, "the Swift producer span is the parent")
        #expect(consume["attributes"]?["rq.job.id"] == .string(job.id))
    }

    @Test func failedAndTimedOutJobsEndTheirSpansWithAnError() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let tracer = W3CTestTracer()
        let (fail, slow) = try await withTracer(tracer) {
            let fail = try await queue.enqueue(ExampleFunctions.fail, "boom")
            let slow = try await queue.enqueue(
                ExampleFunctions.sleep, 60, options: EnqueueOptions(timeout: JobTimeout(.seconds(1))))
            try await RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true, burst: true).task.value
            return (fail, slow)
        }
        #expect(try await fail.currentStatus() == .failed)
        #expect(try await slow.currentStatus() == .failed)
        let spans = tracer.finishedSpans.filter { $0.operationName == "consume \(queue.name)" }
        #expect(spans.count == 2)
        for (job, status) in [(fail.id, "failed"), (slow.id, "timed_out")] {
            let span = try #require(spans.first { $0.attributes.get("rq.job.id") == .string(job) })
            #expect(span.status?.code == .error, "\(status)")
            #expect(span.errors.count == 1, "\(status)")
            #expect(span.attributes.get("rq.job.status") == .string(status))
            let publish = tracer.finishedSpans.first {
                $0.operationName == "publish \(queue.name)" && $0.attributes.get("rq.job.id") == .string(job)
            }
            #expect(span.parentSpanID == publish?.spanID, "\(status)")
        }
        let failure = try #require(spans.first { $0.attributes.get("rq.job.id") == .string(fail.id) })
        #expect(failure.status?.message?.contains("boom") == true, "\(String(describing: failure.status))")
    }

    @Test func spansAnInProcessJobStartsAreChildrenOfItsConsumerSpan() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        var functions = JobFunctionRegistry()
        functions.register("tracing.child") { _ in
            try await withSpan("inside the job") { _ in try await Task.sleep(for: .milliseconds(10)) }
            return .null
        }
        let tracer = W3CTestTracer()
        let job = try await withTracer(tracer) {
            let job = try await queue.enqueue("tracing.child")
            try await RunningWorker.start(queues: [queue.name], redis: redis, burst: true) { configuration in
                configuration.execution = .inProcess(functions)
            }.task.value
            return job
        }
        #expect(try await job.currentStatus() == .finished)
        let consume = try #require(tracer.finishedSpans.first { $0.operationName == "consume \(queue.name)" })
        let inside = try #require(tracer.finishedSpans.first { $0.operationName == "inside the job" })
        #expect(inside.traceID == consume.traceID && inside.parentSpanID == consume.spanID)
    }

    @Test func everyEnqueueFormHasAProducerSpan() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let tracer = W3CTestTracer()
        let jobs = try await withTracer(tracer) {
            let many = try await queue.enqueueMany([
                EnqueueRequest("examples.add", args: [1, 2]), EnqueueRequest("examples.add", args: [3, 4]),
            ])
            let at = try await queue.enqueue(at: Date().addingTimeInterval(3600), "examples.noop")
            let later = try await queue.enqueue(in: .seconds(3600), "examples.noop")
            return many + [at, later]
        }
        for (index, job) in jobs.enumerated() {
            let operation = index < 2 ? "publish" : "schedule"
            let span = try #require(
                tracer.finishedSpans.first { $0.attributes.get("rq.job.id") == .string(job.id) }, "\(index)")
            #expect(span.operationName == "\(operation) \(queue.name)")
            #expect(span.kind == .producer)
            let meta = try await Job.fetch(id: job.id, redis: redis).meta
            #expect(meta["traceparent"] == .string("00-\(span.traceID)-\(span.spanID)-01"), "\(index)")
        }

        // A synchronous queue: a producer span, then a consumer span in the same trace around the run.
        let sync = Queue(uniqueName(), redis: redis, runningSynchronouslyWith: ExampleFunctions.registry)
        let ran = try await withTracer(tracer) { try await sync.enqueue(ExampleFunctions.add, 4, 5) }
        #expect(try await ran.result() == 9)
        let publish = try #require(tracer.finishedSpans.first { $0.operationName == "publish \(sync.name)" })
        let consume = try #require(tracer.finishedSpans.first { $0.operationName == "consume \(sync.name)" })
        #expect(consume.traceID == publish.traceID && consume.parentSpanID == publish.spanID)
    }

    @Test func withoutATracerNothingIsWrittenIntoMeta() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let plain = try await queue.enqueue("examples.noop")
        let many = try await queue.enqueueMany([EnqueueRequest("examples.noop")])
        let withMeta = try await queue.enqueue("examples.noop", options: EnqueueOptions(meta: ["owner": "me"]))
        for job in [plain] + many {
            #expect(try await redis.send("HEXISTS", "rq:job:\(job.id)", "meta").int == 0, "no meta field at all")
        }
        #expect(try await Job.fetch(id: withMeta.id, redis: redis).meta == ["owner": "me"])
    }
}
