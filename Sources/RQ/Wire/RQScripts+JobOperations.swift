/// The scripts behind a job's cancel, delete and requeue, and the release of dependents when a parent ends — each one
/// atomic step, where Python RQ uses a WATCH/MULTI/EXEC loop with the same writes (reference §2.2, §2.11).
extension RQScripts {
    /// Release the dependents of a job that ended (the prelude's `releaseDependents`). ARGV: parent id, parent
    /// status, enqueued_at. Returns how many were queued.
    static let releaseDependents = RQLua.script(
        "release_dependents",
        """
        return releaseDependents(ARGV[1], ARGV[2], ARGV[3])
        """)

    /// Cancel (RQ's `Job.cancel`). KEYS[1] the job hash. ARGV: 1 id, 2 now (int), 3 enqueued_at for released
    /// dependents, 4 enqueue dependents (0/1), 5 remove from dependencies (0/1).
    /// Returns -1 if there is no such job, 0 if already canceled, 1 when canceled.
    static let cancel = RQLua.script(
        "cancel",
        """
        local id, now, enqueuedAt = ARGV[1], ARGV[2], ARGV[3]
        local status = redis.call('HGET', KEYS[1], 'status')
        if not status then return -1 end
        if status == 'canceled' then return 0 end
        local origin = redis.call('HGET', KEYS[1], 'origin') or ''
        redis.call('HSET', KEYS[1], 'status', 'canceled')
        if ARGV[4] == '1' then
          -- Python's enqueue_dependents(exclude_job_id=id): the canceled job is left out of its dependents'
          -- dependencies, which is what counting it as finished does.
          releaseDependents(id, 'finished', enqueuedAt)
        end
        if ARGV[5] == '1' then
          for _, parent in ipairs(redis.call('SMEMBERS', dependenciesKey(id))) do
            redis.call('SREM', dependentsKey(parent), id)
          end
        end
        redis.call('LREM', queueKey(origin), 1, id)
        local registries = { finished = finishedKey, failed = failedKey, deferred = deferredKey,
                             scheduled = scheduledKey, stopped = failedKey }
        if registries[status] then redis.call('ZREM', registries[status](origin), id) end
        if status == 'started' then
          for _, e in ipairs(redis.call('ZRANGE', executionsKey(id), 0, -1)) do
            redis.call('ZREM', startedKey(origin), id .. ':' .. e)
          end
        end
        redis.call('ZADD', canceledKey(origin), now, id)
        return 1
        """)

    /// Delete a job and its side keys, removing it from its queue and registries (RQ's `Job.delete`). ARGV: 1 id,
    /// 2 delete dependents (0/1): each job in its dependents set is deleted too — taken out of its registries but
    /// not its queue, and not its own dependents, as Python's `delete_dependents` does.
    /// The result streams are kept, as Python RQ keeps them. Returns the number of the job's keys deleted.
    static let delete = RQLua.script(
        "delete",
        """
        local function deleteJob(id, removeFromQueue)
          local origin = redis.call('HGET', jobKey(id), 'origin')
          local group = redis.call('HGET', jobKey(id), 'group_id')
          if origin then
            if removeFromQueue then redis.call('LREM', queueKey(origin), 0, id) end
            for _, registry in ipairs({ finishedKey, failedKey, deferredKey, scheduledKey, canceledKey }) do
              redis.call('ZREM', registry(origin), id)
            end
            for _, e in ipairs(redis.call('ZRANGE', executionsKey(id), 0, -1)) do
              redis.call('ZREM', startedKey(origin), id .. ':' .. e)
              redis.call('DEL', executionKey(id, e))
            end
          end
          redis.call('DEL', executionsKey(id))
          if group and group ~= '' then redis.call('SREM', groupKey(group), id) end
          return redis.call('DEL', jobKey(id), dependentsKey(id), dependenciesKey(id))
        end
        local id = ARGV[1]
        if ARGV[2] == '1' then
          for _, dependent in ipairs(redis.call('SMEMBERS', dependentsKey(id))) do
            deleteJob(dependent, false)
          end
        end
        return deleteJob(id, true)
        """)

    /// Requeue a job from a registry (RQ's `BaseRegistry.requeue`): take it out of the registry and requeue it (the
    /// prelude's `requeueJob`: start and end cleared, pushed on its origin queue). KEYS[1]: the registry, KEYS[2]
    /// the job hash. ARGV: 1 id, 2 enqueued_at, 3 at_front (0/1).
    /// Returns -1 if there is no such job, 0 if the registry does not hold it, 1 when requeued.
    ///
    /// Unlike Python, the key loses the TTL its end gave it (Python leaves it, so a requeued finished or failed job
    /// can expire while queued); a job enqueued with a `ttl` gets that again, as Python's save does.
    static let requeue = RQLua.script(
        "requeue",
        """
        local id, enqueuedAt, atFront = ARGV[1], ARGV[2], ARGV[3]
        local origin = redis.call('HGET', KEYS[2], 'origin')
        if not origin then return -1 end
        if redis.call('ZREM', KEYS[1], id) == 0 then return 0 end
        redis.call('PERSIST', KEYS[2])
        local ttl = tonumber(redis.call('HGET', KEYS[2], 'ttl') or '')
        if ttl and ttl > 0 then
          for _, key in ipairs({ KEYS[2], dependentsKey(id), dependenciesKey(id) }) do redis.call('EXPIRE', key, ttl) end
        end
        requeueJob(id, origin, enqueuedAt, atFront == '1')
        return 1
        """)
}
