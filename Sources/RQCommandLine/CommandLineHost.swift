import ArgumentParser
public import RQ
import Synchronization

/// Hosts swift-rq's command tree, in the `rq` executable or in a job-runner executable of your own.
///
/// In a runner, call it from `main` with the runner's functions: a horse runs its job and exits; anything else is
/// parsed as a command, so `my-jobs worker high default` runs a worker whose horses are this same executable.
///
/// ```swift
/// await CommandLineHost.main(functions: myFunctions)
/// ```
public enum CommandLineHost {
    static let registered = Mutex<JobFunctionRegistry?>(nil)

    /// Runs the command line; `functions` are the job functions this executable can run, if any.
    public static func main(functions: JobFunctionRegistry? = nil) async {
        if let functions {
            await JobRunner(functions: functions).runHorseIfRequested()
            registered.withLock { $0 = functions }
        }
        await RQCommand.main()
    }

    /// The functions of the hosting runner, or nil in the plain `rq` executable.
    static var functions: JobFunctionRegistry? { registered.withLock { $0 } }
}
