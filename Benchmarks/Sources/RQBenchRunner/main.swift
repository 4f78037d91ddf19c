// rq-bench-runner: the job runner rq-bench starts its horses from, linked like a user's runner (RQ and
// FoundationEssentials only), so the horse figures are those of a real deployment. `rq-bench-runner worker URL`
// is the idle worker of the memory measurement.
import FoundationEssentials
import Glibc
import Logging
import RQ

var functions = JobFunctionRegistry()
functions.register("examples.noop") { _ in .null }
functions.register("bench.now") { _ in .double(Date().timeIntervalSince1970) }
await JobRunner(functions: functions).runHorseIfRequested()

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.first == "worker", arguments.count >= 2 else {
    print("usage: rq-bench-runner worker URL (or --rq-horse, as a worker starts it)")
    exit(2)
}
var logger = Logger(label: "rq.bench")
logger.logLevel = .critical
var configuration = WorkerPoolConfiguration(queues: ["idle"], execution: .horse(runner: JobRunner.executablePath))
configuration.concurrency = 2
try await WorkerPool(configuration: configuration, redis: try Redis(url: arguments[1]), logger: logger).run()
