import InMemoryTracing
import Tracing

/// A tracer for the tracing tests: `InMemoryTracer`'s recorded spans, with OpenTelemetry's id sizes (32 and 16 hex
/// digits), propagated as W3C trace context (`traceparent: 00-<trace id>-<span id>-01`) — what an OpenTelemetry
/// tracer (swift-otel, Python's SDK) writes and reads. `InMemoryTracer` on its own propagates keys of its own
/// (`in-memory-trace-id`), which Python's `opentelemetry-instrumentation-rq` would not read.
///
/// Bound to a test's task with `withTracer(_:_:)` rather than bootstrapped, so each test has its own spans and the
/// tests that run beside it have no tracer at all.
struct W3CTestTracer: Tracer {
    /// Records the spans; ``finishedSpans`` reads them.
    let recorder = InMemoryTracer(
        idGenerator: .init(nextTraceID: { randomHex(bytes: 16) }, nextSpanID: { randomHex(bytes: 8) }),
        recordInjections: false, recordExtractions: false)

    var finishedSpans: [FinishedInMemorySpan] { recorder.finishedSpans }

    func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> InMemorySpan {
        recorder.startSpan(
            operationName, context: context(), ofKind: kind, at: instant(), function: function, file: fileID,
            line: line)
    }

    func forceFlush() {}

    func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Carrier == Inject.Carrier {
        guard let span = context.inMemorySpanContext else { return }
        injector.inject("00-\(span.traceID)-\(span.spanID)-01", forKey: "traceparent", into: &carrier)
    }

    func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Carrier == Extract.Carrier {
        guard let value = extractor.extract(key: "traceparent", from: carrier) else { return }
        let parts = value.split(separator: "-")
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16 else { return }
        context.inMemorySpanContext = InMemorySpanContext(
            traceID: String(parts[1]), spanID: String(parts[2]), parentSpanID: nil)
    }
}

/// `bytes` random bytes as lowercase hex, as OpenTelemetry writes trace and span ids.
private func randomHex(bytes: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<bytes).map { _ in
        let byte = UInt8.random(in: 0...255, using: &generator)
        return String(byte, radix: 16).leftPadded(to: 2)
    }.joined()
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
