import FoundationEssentials
import Glibc
import Logging
import Synchronization

// Commands over pub/sub (shutdown, kill-horse, stop-job), cold shutdown, maintenance.
extension WorkerPool {
    func listenForCommands() async {
        guard let subscriber else { return }
        for await payload in subscriber.messages {
            guard let command = try? JSONValue(parsing: payload), let name = command["command"]?.stringValue else {
                logger.warning(
                    "Ignoring malformed worker command",
                    metadata: ["payload": "\(String(decoding: payload, as: UTF8.self))"])
                continue
            }
            await handle(command: name, jobID: command["job_id"]?.stringValue)
        }
    }

    func handle(command: String, jobID: String?) async {
        logger.info("Received command", metadata: ["rq.command": "\(command)"])
        switch command {
        case "shutdown":
            await beginDraining()
        case "kill-horse":
            for handle in running.values { handle.stopNow(.killCommand) }
            for id in machine.running where running[id] == nil { stopsBeforeStart[id] = .killCommand }
        case "stop-job":
            guard let jobID, let handle = running[jobID] else {
                if let jobID, machine.isRunning(jobID) {
                    // Taken (started in Redis) but not running yet: it is stopped as it starts.
                    stopsBeforeStart[jobID] = .stopCommand
                    return
                }
                logger.info("stop-job for a job not running here", metadata: ["rq.job_id": "\(jobID ?? "")"])
                return
            }
            handle.stopNow(.stopCommand)
        default:
            logger.warning("Unknown worker command", metadata: ["rq.command": "\(command)"])
        }
    }

    /// A cold shutdown: the machine takes no more jobs, and every running job is stopped now (its outcome is still
    /// written).
    func stopAllRunningJobs(_ reason: StopReason) {
        _ = machine.coldShutdown()
        if reason == .coldShutdown, !running.isEmpty {
            logger.warning(
                "Cold shut down: stopping running jobs", metadata: ["rq.job_ids": "\(running.keys.sorted())"])
        }
        for handle in running.values { handle.stopNow(reason) }
    }

    // MARK: Maintenance

    func maintainIfDue() async {
        if let last = lastMaintenance, ContinuousClock.now - last < configuration.maintenanceInterval { return }
        lastMaintenance = .now
        let maintenance = RegistryMaintenance(redis: redis, logger: logger)
        for queue in configuration.queues {
            for (job, failure) in await maintenance.clean(queue: queue) {
                WorkerMetrics.jobAbandoned(queue: queue)
                await runLateCallback(job.callbacks.failure, job: job, outcome: .failed(failure))
            }
        }
        await maintenance.pruneGroups()
    }
}
