/// The scripts behind a job's cancel, delete and requeue, and the release of dependents when a parent ends — each one
/// atomic step, where Python RQ uses a WATCH/MULTI/EXEC loop with the same writes (reference §2.2, §2.11).
extension RQScripts {
    /// Release the dependents of a job that ended. ARGV: parent id, parent status, enqueued_at.
    /// A deferred dependent is queued when every dependency is finished (or failed, if it allows failures) and
    /// the parent was not stopped or canceled. Returns how many were queued.
    static let releaseDependents = RedisScript(
        name: "release_dependents",
        source: releaseDependentsFunction + """
            return releaseDependents(ARGV[1], ARGV[2], ARGV[3])
            """)

    /// Cancel (RQ's `Job.cancel`). ARGV: 1 id, 2 now (int), 3 enqueued_at for released dependents, 4 enqueue
    /// dependents (0/1), 5 remove from dependencies (0/1).
    /// Returns -1 if there is no such job, 0 if already canceled, 1 when canceled.
    static let cancel = RedisScript(
        name: "cancel",
        source: releaseDependentsFunction + """
            local id, now, enqueuedAt = ARGV[1], ARGV[2], ARGV[3]
            local jobKey = 'rq:job:' .. id
            local status = redis.call('HGET', jobKey, 'status')
            if not status then return -1 end
            if status == 'canceled' then return 0 end
            local origin = redis.call('HGET', jobKey, 'origin') or ''
            redis.call('HSET', jobKey, 'status', 'canceled')
            if ARGV[4] == '1' then
              -- Python's enqueue_dependents(exclude_job_id=id): the canceled job is left out of its dependents'
              -- dependencies, which is what counting it as finished does.
              releaseDependents(id, 'finished', enqueuedAt)
            end
            if ARGV[5] == '1' then
              for _, parent in ipairs(redis.call('SMEMBERS', 'rq:job::' .. id .. ':dependencies')) do
                redis.call('SREM', 'rq:job:' .. parent .. ':dependents', id)
              end
            end
            redis.call('LREM', 'rq:queue:' .. origin, 1, id)
            local registries = { finished = 'rq:finished:', failed = 'rq:failed:', deferred = 'rq:deferred:',
                                 scheduled = 'rq:scheduled:', stopped = 'rq:failed:' }
            if registries[status] then redis.call('ZREM', registries[status] .. origin, id) end
            if status == 'started' then
              for _, e in ipairs(redis.call('ZRANGE', 'rq:executions:' .. id, 0, -1)) do
                redis.call('ZREM', 'rq:wip:' .. origin, id .. ':' .. e)
              end
            end
            redis.call('ZADD', 'rq:canceled:' .. origin, now, id)
            return 1
            """)

    /// Delete a job and its side keys, removing it from its queue and registries (RQ's `Job.delete`). ARGV: 1 id,
    /// 2 delete dependents (0/1): each job in its dependents set is deleted too — taken out of its registries but
    /// not its queue, and not its own dependents, as Python's `delete_dependents` does.
    /// The result streams are kept, as Python RQ keeps them. Returns the number of the job's keys deleted.
    static let delete = RedisScript(
        name: "delete",
        source: """
            local function deleteJob(id, removeFromQueue)
              local jobKey = 'rq:job:' .. id
              local origin = redis.call('HGET', jobKey, 'origin')
              local group = redis.call('HGET', jobKey, 'group_id')
              if origin then
                if removeFromQueue then redis.call('LREM', 'rq:queue:' .. origin, 0, id) end
                for _, prefix in ipairs({ 'rq:finished:', 'rq:failed:', 'rq:deferred:', 'rq:scheduled:', 'rq:canceled:' }) do
                  redis.call('ZREM', prefix .. origin, id)
                end
                for _, e in ipairs(redis.call('ZRANGE', 'rq:executions:' .. id, 0, -1)) do
                  redis.call('ZREM', 'rq:wip:' .. origin, id .. ':' .. e)
                  redis.call('DEL', 'rq:execution:' .. id .. ':' .. e)
                end
              end
              redis.call('DEL', 'rq:executions:' .. id)
              if group and group ~= '' then redis.call('SREM', 'rq:group:' .. group, id) end
              return redis.call('DEL', jobKey, 'rq:job:' .. id .. ':dependents', 'rq:job::' .. id .. ':dependencies')
            end
            local id = ARGV[1]
            if ARGV[2] == '1' then
              for _, dependent in ipairs(redis.call('SMEMBERS', 'rq:job:' .. id .. ':dependents')) do
                deleteJob(dependent, false)
              end
            end
            return deleteJob(id, true)
            """)

    /// Requeue a job from a registry (RQ's `BaseRegistry.requeue`): take it out of the registry, clear its start and
    /// end, and push it on its origin queue. KEYS[1]: the registry. ARGV: 1 id, 2 enqueued_at, 3 at_front (0/1).
    /// Returns -1 if there is no such job, 0 if the registry does not hold it, 1 when requeued.
    ///
    /// Unlike Python, the key loses the TTL its end gave it (Python leaves it, so a requeued finished or failed job
    /// can expire while queued); a job enqueued with a `ttl` gets that again, as Python's save does.
    static let requeue = RedisScript(
        name: "requeue",
        source: """
            local id, enqueuedAt, atFront = ARGV[1], ARGV[2], ARGV[3]
            local jobKey = 'rq:job:' .. id
            local origin = redis.call('HGET', jobKey, 'origin')
            if not origin then return -1 end
            if redis.call('ZREM', KEYS[1], id) == 0 then return 0 end
            redis.call('HSET', jobKey, 'status', 'queued', 'started_at', '', 'ended_at', '', 'enqueued_at', enqueuedAt)
            redis.call('PERSIST', jobKey)
            local ttl = tonumber(redis.call('HGET', jobKey, 'ttl') or '')
            if ttl and ttl > 0 then
              for _, key in ipairs({ jobKey, 'rq:job:' .. id .. ':dependents', 'rq:job::' .. id .. ':dependencies' }) do
                redis.call('EXPIRE', key, ttl)
              end
            end
            redis.call('SADD', 'rq:queues', 'rq:queue:' .. origin)
            if atFront == '1' then
              redis.call('LPUSH', 'rq:queue:' .. origin, id)
            else
              redis.call('RPUSH', 'rq:queue:' .. origin, id)
            end
            return 1
            """)

    /// The Lua function that releases dependents, as Python's `Queue.enqueue_dependents(parent)`: a dependent that
    /// is deferred and not canceled is queued (at the front if it asked to be) when the parent's status allows it
    /// (not stopped or canceled; failed only if it allows failures) and every other dependency whose hash still exists
    /// is finished (or failed, if allowed). Released ids leave the parent's dependents set.
    private static let releaseDependentsFunction = """
        local function releaseDependents(parent, parentStatus, enqueuedAt)
          local dependentsKey = 'rq:job:' .. parent .. ':dependents'
          if parentStatus == 'stopped' or parentStatus == 'canceled' then return 0 end
          local released = 0
          for _, dep in ipairs(redis.call('SMEMBERS', dependentsKey)) do
            local jobKey = 'rq:job:' .. dep
            local f = redis.call('HMGET', jobKey, 'status', 'origin', 'allow_dependency_failures', 'enqueue_at_front')
            if f[1] == 'deferred' and f[2] then
              local allowFailure = f[3] == '1'
              local met = true
              for _, other in ipairs(redis.call('SMEMBERS', 'rq:job::' .. dep .. ':dependencies')) do
                local status
                if other == parent then status = parentStatus else status = redis.call('HGET', 'rq:job:' .. other, 'status') end
                if status and not (status == 'finished' or (allowFailure and status == 'failed')) then met = false end
              end
              if met then
                redis.call('ZREM', 'rq:deferred:' .. f[2], dep)
                redis.call('HSET', jobKey, 'status', 'queued', 'enqueued_at', enqueuedAt)
                redis.call('SADD', 'rq:queues', 'rq:queue:' .. f[2])
                if f[4] == '1' then
                  redis.call('LPUSH', 'rq:queue:' .. f[2], dep)
                else
                  redis.call('RPUSH', 'rq:queue:' .. f[2], dep)
                end
                redis.call('SREM', dependentsKey, dep)
                released = released + 1
              end
            end
          end
          return released
        end

        """
}
