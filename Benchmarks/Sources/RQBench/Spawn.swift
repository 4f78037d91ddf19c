@_spi(Processes) import RQ

/// Starts an executable (stdin from /dev/null), for the spawn floor and the idle-worker measurement.
enum SpawnedProcessForBench {
    static func spawn(_ path: String, _ arguments: [String] = [JobRunner.horseArgument]) throws -> SpawnedProcess {
        try SpawnedProcess(path: path, arguments: arguments, descriptors: [1: 1, 2: 2], newProcessGroup: true)
    }
}
