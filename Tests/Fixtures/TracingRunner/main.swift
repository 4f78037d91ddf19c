// A job runner whose program bootstraps an instrument that propagates W3C trace context, as a runner that exports
// its spans (with swift-otel, say) does. Its one job function returns the `traceparent` of the context the job runs
// in: the tracing tests check it is the worker's consumer span, so spans a job starts in a horse are its children.
import RQ
import Tracing

/// The `traceparent` a context carries.
enum TraceParentKey: ServiceContextKey {
    typealias Value = String
}

/// Propagation only: reads and writes `traceparent`, starts no spans.
struct W3CPropagation: Instrument {
    func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        if let value = context[TraceParentKey.self] { injector.inject(value, forKey: "traceparent", into: &carrier) }
    }

    func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        if let value = extractor.extract(key: "traceparent", from: carrier) { context[TraceParentKey.self] = value }
    }
}

InstrumentationSystem.bootstrap(W3CPropagation())
var functions = JobFunctionRegistry()
functions.register("tracing.traceparent") { _ in .string(ServiceContext.current?[TraceParentKey.self] ?? "") }
await JobRunner(functions: functions).runHorseIfRequested()
print("tracing-runner runs only as a horse")
