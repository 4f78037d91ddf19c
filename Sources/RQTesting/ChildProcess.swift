import Foundation
@_spi(Processes) import RQ
import Synchronization

/// The throwaway servers still running, terminated when this process exits so none outlives its tests.
enum LiveChildren {
    private static let processes = Mutex<[Int32: SpawnedProcess]>([:])
    private static let installed = Mutex(false)

    static func add(_ process: SpawnedProcess) {
        processes.withLock { $0[process.pid] = process }
        let first = installed.withLock { done in
            defer { done = true }
            return !done
        }
        if first { atexit { LiveChildren.terminateAll() } }
    }

    static func remove(_ process: SpawnedProcess) {
        _ = processes.withLock { $0.removeValue(forKey: process.pid) }
    }

    static func terminateAll() {
        for process in processes.withLock({ Array($0.values) }) { process.signal(SIGTERM) }
    }
}
