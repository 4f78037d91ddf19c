extension WorkerPoolConfiguration.DequeueStrategy {
    /// The queue order after `served` gave a job, as Python RQ's `Worker.reorder_queues`: round robin rotates the
    /// order past the queue that served the job (so the next job is looked for first in the queue after it), random
    /// shuffles, default keeps the priority order. Python reorders only when a job was dequeued, never after an empty
    /// dequeue.
    func reordered(_ queues: [String], servedBy served: String) -> [String] {
        switch base {
        case .priority:
            return queues
        case .roundRobin:
            guard let position = queues.firstIndex(of: served) else { return queues }
            return Array(queues[(position + 1)...] + queues[...position])
        case .random:
            return queues.shuffled()
        }
    }

    /// What the dequeue-and-start script is told (`RQScripts.dequeueAndStart`, ARGV[6]): a batch of several jobs
    /// rotates its queue order inside the script after each job, as Python would between dequeues.
    var scriptArgument: String { base == .roundRobin ? "round_robin" : "" }
}
