import ArgumentParser
public import RQ
import Synchronization

/// Hosts swift-rq's command tree, in the `rq` executable or in a job-runner executable of your own.
///
/// In a runner, call it from `main` with the runner's functions: a horse runs its job and exits; anything else is
/// parsed as a command, so `my-jobs worker high default` runs a worker whose horses are this same executable.
///
/// ```swift
/// await CommandLineHost.main(functions: myFunctions, exceptionHandlers: ["myapp.notify": notifyOnFailure])
/// ```
public enum CommandLineHost {
    static let registered = Mutex<JobFunctionRegistry?>(nil)
    static let registeredHandlers = Mutex<[String: ExceptionHandler]>([:])

    /// Runs the command line.
    ///
    /// - Parameters:
    ///   - functions: the job functions this executable can run, if any.
    ///   - exceptionHandlers: handlers a worker of this executable can run when a job fails, by the names
    ///     `worker --exception-handler NAME` uses (Python RQ's dotted names, such as `myapp.handlers.notify`,
    ///     keep Procfiles unchanged).
    public static func main(
        functions: JobFunctionRegistry? = nil, exceptionHandlers: [String: ExceptionHandler] = [:]
    ) async {
        if let functions {
            await JobRunner(functions: functions).runHorseIfRequested()
            registered.withLock { $0 = functions }
        }
        registeredHandlers.withLock { $0 = exceptionHandlers }
        await RQCommand.main()
    }

    /// The functions of the hosting runner, or nil in the plain `rq` executable.
    static var functions: JobFunctionRegistry? { registered.withLock { $0 } }

    /// The exception handlers of the hosting runner, by name.
    static var exceptionHandlers: [String: ExceptionHandler] { registeredHandlers.withLock { $0 } }
}
