// The `rq` command line. Job runners host the same commands through `CommandLineHost.main(functions:)`.
import RQCommandLine

await CommandLineHost.main()
