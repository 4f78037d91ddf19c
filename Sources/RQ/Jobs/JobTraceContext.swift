import Glibc
import Tracing

/// How a trace travels with a job, and what swift-rq's spans say about it.
///
/// The context goes in the job's `meta`, under the keys the application's tracer writes (`traceparent` and
/// `tracestate` for an OpenTelemetry tracer) — where Python's `opentelemetry-instrumentation-rq` puts it
/// (`TraceContextTextMapPropagator().inject(job.meta)` when a job is enqueued, `extract(carrier=job.meta)` when a
/// worker performs it) — so one trace runs from a Python producer to a Swift worker and from a Swift producer to a
/// Python worker. The attributes are the ones that package sets, with its `messaging.system`, so one query finds
/// the jobs of both languages.
///
/// swift-rq uses the swift-distributed-tracing API only; until the application bootstraps an instrument
/// (`InstrumentationSystem.bootstrap`, e.g. swift-otel's tracer) or binds one with `withTracer`, ``isActive`` is
/// false and swift-rq starts no span and writes nothing into `meta`.
enum JobTraceContext {
    /// Whether an instrument is set: otherwise swift-rq skips every span and `meta` write. One check per enqueue call
    /// and per job, about 0.1 µs (reading the instrument takes a task-local and a lock; comparing its type, not
    /// casting it with `is`, halves the check).
    static var isActive: Bool { type(of: InstrumentationSystem.instrument) != NoOpInstrument.self }

    /// The parent of a span about a job: the context a job's `meta` carries, else the task's current one (as
    /// Python's instrumentation does: the `meta` of a job enqueued again — a retry — names its first producer).
    static func parent(of meta: JSONObject) -> ServiceContext {
        var context = ServiceContext.current ?? .topLevel
        if !meta.isEmpty { InstrumentationSystem.instrument.extract(meta, into: &context, using: MetaExtractor()) }
        return context
    }

    /// Writes `context` into `meta` with the active instrument's propagation (nothing if it injects nothing).
    static func inject(_ context: ServiceContext, into meta: inout JSONObject) {
        InstrumentationSystem.instrument.inject(context, into: &meta, using: MetaInjector())
    }

    /// Writes string values into a job's `meta`.
    struct MetaInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout JSONObject) {
            carrier[key] = .string(value)
        }
    }

    /// Reads string values from a job's `meta`.
    struct MetaExtractor: Extractor {
        func extract(key: String, from carrier: JSONObject) -> String? { carrier[key]?.stringValue }
    }

    // MARK: Attributes

    /// What a span is about: Python's instrumentation's operation names and OpenTelemetry messaging types.
    enum Operation {
        /// A job put on a queue: span `publish <queue>`, kind producer.
        case publish
        /// A job put in the scheduled registry (`enqueue_at`, `enqueue_in`, `schedule_job`): `schedule <queue>`.
        case schedule
        /// A job run by a worker: `consume <queue>`, kind consumer.
        case consume

        /// `messaging.operation.name`, and the first word of the span's name.
        var name: String {
            switch self {
            case .publish: return "publish"
            case .schedule: return "schedule"
            case .consume: return "consume"
            }
        }

        /// `messaging.operation.type`.
        var type: String {
            switch self {
            case .publish: return "send"
            case .schedule: return "create"
            case .consume: return "process"
            }
        }

        var kind: SpanKind { self == .consume ? .consumer : .producer }
    }

    /// Python's instrumentation's `messaging.system`: it names the protocol both languages speak.
    static let messagingSystem = "Python RQ"

    /// This host's name (`messaging.client.id`, as Python's instrumentation sets it).
    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// Starts a span about `job`, with the attributes every swift-rq span has.
    static func startSpan(
        _ operation: Operation, queue: String, job: Job, context: ServiceContext
    ) -> any Span {
        let span = Tracing.startSpan("\(operation.name) \(queue)", context: context, ofKind: operation.kind)
        guard span.isRecording else { return span }
        span.updateAttributes { attributes in
            attributes["messaging.system"] = messagingSystem
            attributes["messaging.client.id"] = hostName
            attributes["messaging.operation.type"] = operation.type
            attributes["messaging.operation.name"] = operation.name
            attributes["messaging.destination.name"] = queue
            attributes["rq.job.id"] = job.id
            attributes["rq.job.function"] = job.functionName
        }
        return span
    }

    /// Ends a span as failed: status error with the last line of the failure, and the failure recorded.
    static func endFailed(_ span: any Span, _ error: any Error, message: String) {
        span.recordError(error)
        span.setStatus(SpanStatus(code: .error, message: message))
        span.end()
    }
}
