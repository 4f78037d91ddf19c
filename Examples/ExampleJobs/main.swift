// example-jobs: a job runner with the example functions. As a horse it runs one job; otherwise it hosts the
// command line, so `example-jobs worker default` runs a worker whose horses are this executable.
import ExampleFunctions
import RQCommandLine

await CommandLineHost.main(
    functions: ExampleFunctions.registry, exceptionHandlers: ExampleFunctions.exceptionHandlers)
