// swift-format-ignore-file
// JobFunctionsAndRunners.md: see Support.swift.
import RQ
import RQCommandLine

/// (Int, Int) -> Int
let add = JobFunction<Int, Int, Int>("examples.add")

/// Any `Codable` type travels as JSON.
struct Invoice: Codable, Sendable {
    var customer: String
    var cents: Int
}
let sendInvoice = JobFunction<Bool, Invoice, String>("billing.send_invoice")

func jobFunctionsTyped(queue: Queue) async throws {
    var functions = JobFunctionRegistry()
    functions.register(add) { x, y in x + y }
    functions.register(sendInvoice) { invoice, channel in
        try await deliver(invoice, over: channel)
    }

    let job = try await queue.enqueue(sendInvoice, Invoice(customer: "ada", cents: 4200), "email")
    let delivered: Bool = try await job.result(timeout: .seconds(60))
    _ = (functions, delivered)
}

func jobFunctionsBound(queue: Queue) async throws {
    let addLater = add.bound(to: queue, options: EnqueueOptions(timeout: 30))
    try await addLater.delay(3, 4)
}

func jobFunctionsByName(queue: Queue, functions: inout JobFunctionRegistry) async throws {
    functions.register("reports.build") { call in
        let month = try call.argument(0, as: String.self)
        let format = call.kwargs["format"]?.stringValue ?? "pdf"
        return .string("report-\(month).\(format)")
    }

    try await queue.enqueue("reports.build", args: ["2026-11"], kwargs: ["format": "csv"])
}

func jobFunctionsContext(functions: inout JobFunctionRegistry) {
    functions.register("imports.run") { call in
        let steps = try call.argument(0, as: Int.self)
        for step in 1...steps {
            try await importBatch(step)
            try await JobContext.current?.saveMeta(["progress": .int(step)])   // RQ's job.meta + save_meta()
        }
        return .int(steps)
    }
}

func jobFunctionsRunner() async {
    var functions = JobFunctionRegistry()
    functions.register(add) { x, y in x + y }
    await CommandLineHost.main(functions: functions, exceptionHandlers: ["billing.alert": alertOnFailure])
}

func jobFunctionsSynchronous(redis: Redis, functions: JobFunctionRegistry) async throws {
    let inline = Queue("default", redis: redis, runningSynchronouslyWith: functions)
    let done = try await inline.enqueue("reports.build", args: ["2026-11"])
    print(try await done.currentStatus())   // finished
}
