// swift-format-ignore-file
// GettingStarted.md: see Support.swift. Its Package.swift block is the README's, which
// scripts/check-getting-started.sh builds and runs; the two main.swift files stand here as functions.
import RQ
import RQCommandLine

func gettingStartedRunner() async {
    let add = JobFunction<Int, Int, Int>("examples.add")  // typed: (Int, Int) -> Int

    var functions = JobFunctionRegistry()
    functions.register(add) { x, y in x + y }
    functions.register("examples.echo") { call in ["args": .array(call.args), "kwargs": .object(call.kwargs)] }
    // A horse runs its one job and exits; otherwise this is the command line: `my-jobs worker default`, `my-jobs info`…
    await CommandLineHost.main(functions: functions)
}

func gettingStartedProducer() async throws {
    let url = CommandLine.arguments.dropFirst().first ?? "redis://127.0.0.1:6379/0"
    let queue = Queue("default", redis: try Redis(url: url))
    let add = JobFunction<Int, Int, Int>("examples.add")
    let job = try await queue.enqueue(add, 2, 3)
    print("enqueued \(job.id)")
    print("2 + 3 =", try await job.result(timeout: .seconds(30)))
}
