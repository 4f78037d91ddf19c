// rq-bench-runner: the job runner rq-bench starts its horses from, linked like a user's runner (RQ and
// FoundationEssentials only), so the horse figures are those of a real deployment. `rq-bench-runner worker URL`
// is the idle worker of the memory measurement; `rq-bench-runner worker URL QUEUE CONCURRENCY [in-process]` is the
// worker of the soak measurement.
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
    print("usage: rq-bench-runner worker URL [QUEUE CONCURRENCY [in-process]] (or --rq-horse, as a worker starts it)")
    exit(2)
}
var logger = Logger(label: "rq.bench")
logger.logLevel = .critical
let queue = arguments.count > 2 ? arguments[2] : "idle"
let execution: WorkerPoolConfiguration.Execution =
    arguments.count > 4 && arguments[4] == "in-process"
    ? .inProcess(functions) : .horse(runner: JobRunner.executablePath)
var configuration = WorkerPoolConfiguration(queues: [queue], execution: execution)
configuration.concurrency = arguments.count > 3 ? Int(arguments[3]) ?? 2 : 2
try await WorkerPool(configuration: configuration, redis: try Redis(url: arguments[1]), logger: logger).run()
