// `swift-rq`: Python RQ's command line for Swift workers. It has a name of its own so that it never shadows, nor is
// shadowed by, Python RQ's `rq` on the same PATH. Job runners host the same commands through
// `CommandLineHost.main(functions:)`.
import RQCommandLine

await CommandLineHost.main()
