/// The Lua scripts behind operations that read and write several keys atomically in one round trip.
///
/// Keys are built inside the scripts from RQ's fixed `rq:` layout (single-instance Redis, as RQ itself assumes).
enum RQScripts {
    /// Enqueue with dependencies: defer the job if any parent exists and is not finished, else enqueue it.
    /// ARGV: id, queue, now (int), at_front (0/1), enqueued_at, ttl or "", parent count, parents…, field/value…
    /// Returns 1 when queued, 0 when deferred.
    static let enqueueWithDependencies = RedisScript(
        name: "enqueue_with_dependencies",
        source: """
            local id, queue, now, atFront, enqueuedAt, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
            local parentCount = tonumber(ARGV[7])
            local jobKey = 'rq:job:' .. id
            local deferred = false
            for i = 1, parentCount do
              local status = redis.call('HGET', 'rq:job:' .. ARGV[7 + i], 'status')
              if status and status ~= 'finished' then deferred = true end
            end
            local fields = {}
            for i = 8 + parentCount, #ARGV do fields[#fields + 1] = ARGV[i] end
            redis.call('SADD', 'rq:queues', 'rq:queue:' .. queue)
            redis.call('HSET', jobKey, unpack(fields))
            if deferred then
              redis.call('HSET', jobKey, 'status', 'deferred')
              redis.call('ZADD', 'rq:deferred:' .. queue, now, id)
              for i = 1, parentCount do
                redis.call('SADD', 'rq:job:' .. ARGV[7 + i] .. ':dependents', id)
                redis.call('SADD', 'rq:job::' .. id .. ':dependencies', ARGV[7 + i])
              end
            else
              redis.call('HSET', jobKey, 'status', 'queued', 'enqueued_at', enqueuedAt)
              if atFront == '1' then
                redis.call('LPUSH', 'rq:queue:' .. queue, id)
              else
                redis.call('RPUSH', 'rq:queue:' .. queue, id)
              end
            end
            if ttl ~= '' then
              redis.call('EXPIRE', jobKey, ttl)
              redis.call('EXPIRE', 'rq:job:' .. id .. ':dependents', ttl)
              redis.call('EXPIRE', 'rq:job::' .. id .. ':dependencies', ttl)
            end
            if deferred then return 0 end
            return 1
            """)

    /// Empty a queue: pop every id and delete its job hash and dependents set. KEYS[1]: the queue list.
    /// Returns how many ids were removed.
    static let emptyQueue = RedisScript(
        name: "empty_queue",
        source: """
            local count = 0
            while true do
              local id = redis.call('LPOP', KEYS[1])
              if not id then break end
              redis.call('DEL', 'rq:job:' .. id, 'rq:job:' .. id .. ':dependents')
              count = count + 1
            end
            return count
            """)
}

extension RQScripts {
    /// A worker's dequeue and job start in one round trip (reference §2.4 steps 4–6), for up to N jobs. Its start
    /// writes are `JobLifecycle.start`'s plus the worker hash's; keep the two in step.
    ///
    /// KEYS: the queue list keys, in priority order. ARGV: 1 mode (`pop`: take ids from the queues in order — the
    /// script is atomic, so no intermediate list is needed; `fetch`: the id in ARGV[3], already moved by a blocking
    /// pop, into the intermediate list when ARGV[2] is '1'), 2 single-queue flag, 3 id, 4 worker key, 5 worker name,
    /// 6 `round_robin` to rotate the queue order past the queue that served each job of a batch (else ""), 7 hash
    /// timestamp, 8 float epoch,
    /// 9 integer epoch, 10 job monitoring interval (seconds), 11 N, 12… one execution id per job.
    /// Returns false when the queues are empty, else a list of `{queue_key, id, hgetall, execution_id}`; an empty
    /// hash means the job is gone and nothing was written for it.
    static let dequeueAndStart = RedisScript(
        name: "dequeue_and_start",
        source: """
            local currentExecution
            local lastStarted, lastTTL
            local function start(queueKey, id)
              local jobKey = 'rq:job:' .. id
              local hash = redis.call('HGETALL', jobKey)
              if #hash == 0 then return { queueKey, id, hash, currentExecution } end
              local timeout, origin = 180, string.sub(queueKey, 10)
              for i = 1, #hash, 2 do
                if hash[i] == 'timeout' then timeout = tonumber(hash[i + 1]) or 180
                elseif hash[i] == 'origin' and hash[i + 1] ~= '' then origin = hash[i + 1] end
              end
              local interval = tonumber(ARGV[10])
              local ttl = interval + 60
              if timeout > 0 then ttl = math.min(timeout, interval) + 60 end
              local e, now = currentExecution, tonumber(ARGV[9])
              local executionKey = 'rq:execution:' .. id .. ':' .. e
              redis.call('HSET', executionKey, 'id', e, 'created_at', ARGV[8], 'last_heartbeat', ARGV[8], 'worker_name', ARGV[5])
              redis.call('EXPIRE', executionKey, ttl)
              redis.call('ZADD', 'rq:executions:' .. id, now + ttl + 60, e)
              redis.call('EXPIRE', 'rq:executions:' .. id, ttl + 60)
              redis.call('ZADD', 'rq:wip:' .. origin, now + ttl, id .. ':' .. e)
              redis.call('HSET', jobKey, 'status', 'started', 'started_at', ARGV[7], 'worker_name', ARGV[5], 'last_heartbeat', ARGV[7])
              redis.call('PERSIST', jobKey)
              if not lastTTL or ttl > lastTTL then lastTTL = ttl end
              lastStarted = id
              return { queueKey, id, hash, currentExecution }
            end
            -- The worker hash names the last job started; written once per call, however many jobs it starts.
            local function markWorkerBusy()
              if not lastStarted then return end
              redis.call('HSET', ARGV[4], 'state', 'busy', 'current_job', lastStarted, 'current_job_working_time', '0', 'last_heartbeat', ARGV[7])
              redis.call('EXPIRE', ARGV[4], lastTTL)
            end
            if ARGV[1] == 'fetch' then
              -- After a blocking BLMOVE the id sits in the intermediate list: take it out as the job starts.
              currentExecution = ARGV[12]
              local result = start(KEYS[1], ARGV[3])
              if ARGV[2] == '1' then redis.call('LREM', KEYS[1] .. ':intermediate', 1, ARGV[3]) end
              markWorkerBusy()
              return { result }
            end
            -- The script is atomic, so an id goes from the queue to started in one step: no intermediate list here.
            local results = {}
            local keys = KEYS
            for n = 1, tonumber(ARGV[11]) do
              local found = false
              for position, key in ipairs(keys) do
                local id = redis.call('LPOP', key)
                if id then
                  currentExecution = ARGV[11 + n]
                  results[#results + 1] = start(key, id)
                  found = true
                  if ARGV[6] == 'round_robin' then
                    -- Python's reorder_queues: the next job is looked for first in the queue after this one.
                    local rotated = {}
                    for i = position + 1, #keys do rotated[#rotated + 1] = keys[i] end
                    for i = 1, position do rotated[#rotated + 1] = keys[i] end
                    keys = rotated
                  end
                  break
                end
              end
              if not found then break end
            end
            if #results == 0 then return false end
            markWorkerBusy()
            return results
            """)

}

extension RQScripts {
    /// Takes back the jobs a worker started but never heard of (the reply of the script that started them was lost
    /// with the connection): their started-registry entry, execution records and `started` status go, and they are
    /// pushed back on the front of their queue. KEYS: 1 started registry, 2 queue. ARGV: 1 worker name, then the ids
    /// of the jobs the worker knows it runs or is recording. Returns the ids requeued.
    static let requeueLostStarts = RedisScript(
        name: "requeue_lost_starts",
        source: """
            local known = {}
            for i = 2, #ARGV do known[ARGV[i]] = true end
            local requeued = {}
            for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
              local id, e = string.match(member, '^(.*):([^:]*)$')
              if id and not known[id] then
                local executionKey = 'rq:execution:' .. id .. ':' .. e
                if redis.call('HGET', executionKey, 'worker_name') == ARGV[1] then
                  redis.call('ZREM', KEYS[1], member)
                  redis.call('DEL', executionKey)
                  redis.call('ZREM', 'rq:executions:' .. id, e)
                  if redis.call('EXISTS', 'rq:job:' .. id) == 1 then
                    redis.call('HSET', 'rq:job:' .. id, 'status', 'queued')
                    redis.call('LPUSH', KEYS[2], id)
                    requeued[#requeued + 1] = id
                  end
                end
              end
            end
            return requeued
            """)

    /// The worker's state after one of its jobs ended, written only if no job started since: the outcome write is
    /// built before it is sent, and with it on its way the worker may already have started its next job (whose
    /// start script set `current_job`). KEYS[1] worker key. ARGV: 1 the ended job's id, 2 a job still running to
    /// name as current, or "" when none runs (the worker is idle).
    static let workerJobEnded = RedisScript(
        name: "worker_job_ended",
        source: """
            local current = redis.call('HGET', KEYS[1], 'current_job')
            if current and current ~= ARGV[1] then return 0 end
            if ARGV[2] == '' then
              redis.call('HSET', KEYS[1], 'state', 'idle')
              redis.call('HDEL', KEYS[1], 'current_job')
            else
              redis.call('HSET', KEYS[1], 'current_job', ARGV[2])
            end
            return 1
            """)
}

extension RQScripts {
    /// Acquire or refresh a scheduler lock (`rq:scheduler-lock:{queue}`), as RQ's scheduler does.
    /// KEYS[1] lock key; ARGV: 1 scheduler name, 2 TTL. Returns 1 if this scheduler holds the lock.
    static let acquireSchedulerLock = RedisScript(
        name: "acquire_scheduler_lock",
        source: """
            if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
            if redis.call('GET', KEYS[1]) == ARGV[1] then
              redis.call('EXPIRE', KEYS[1], ARGV[2])
              return 1
            end
            return 0
            """)

    /// Release a scheduler lock only if this scheduler holds it. KEYS[1] lock key; ARGV[1] scheduler name.
    static let releaseSchedulerLock = RedisScript(
        name: "release_scheduler_lock",
        source: """
            if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
            return 0
            """)

    /// Move a queue's due scheduled jobs to the queue in one atomic step (reference §2.3 step 3).
    /// ARGV: 1 queue, 2 now (integer epoch), 3 enqueued_at timestamp. Returns how many were queued.
    static let enqueueDueJobs = RedisScript(
        name: "enqueue_due_jobs",
        source: """
            local queue, now, stamp = ARGV[1], ARGV[2], ARGV[3]
            local scheduledKey = 'rq:scheduled:' .. queue
            local ids = redis.call('ZRANGEBYSCORE', scheduledKey, 0, now, 'LIMIT', 0, 1000)
            local moved = 0
            for _, id in ipairs(ids) do
              local jobKey = 'rq:job:' .. id
              redis.call('ZREM', scheduledKey, id)
              if redis.call('EXISTS', jobKey) == 1 then
                redis.call('HSET', jobKey, 'status', 'queued', 'enqueued_at', stamp)
                local front = redis.call('HMGET', jobKey, 'enqueue_at_front', 'enqueue_at_front_on_retry')
                if front[1] == '1' or front[2] == '1' then
                  redis.call('LPUSH', 'rq:queue:' .. queue, id)
                else
                  redis.call('RPUSH', 'rq:queue:' .. queue, id)
                end
                moved = moved + 1
              end
            end
            if moved > 0 then redis.call('SADD', 'rq:queues', 'rq:queue:' .. queue) end
            return moved
            """)
}

extension RQScripts {
    /// A unique enqueue (RQ 2.8's `unique=True`): write and queue the job only if no job has its id.
    /// ARGV: 1 id, 2 queue, 3 at_front (0/1), 4 ttl or "", 5 scheduled time (epoch) or "" to queue at once,
    /// 6… field/value pairs. Returns 1 if stored, 0 if the id exists.
    static let enqueueUnique = RedisScript(
        name: "enqueue_unique",
        source: storeJob + """
            local id, queue, atFront, ttl, scheduledAt = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
            if redis.call('EXISTS', 'rq:job:' .. id) == 1 then return 0 end
            storeJob(id, queue, ttl, 6, atFront, scheduledAt)
            return 1
            """)

    /// A Lua function the enqueue scripts share: write a job hash from the field/value pairs in `ARGV[first…]`,
    /// give it the ttl (if not ""), and put the job on its queue (§2.1) — or in the scheduled registry at
    /// `scheduledAt` (if not "").
    private static let storeJob = """
        local function storeJob(id, queue, ttl, first, atFront, scheduledAt)
          local jobKey = 'rq:job:' .. id
          local fields = {}
          for i = first, #ARGV do fields[#fields + 1] = ARGV[i] end
          redis.call('HSET', jobKey, unpack(fields))
          if ttl ~= '' then redis.call('EXPIRE', jobKey, ttl) end
          redis.call('SADD', 'rq:queues', 'rq:queue:' .. queue)
          if scheduledAt ~= '' then
            redis.call('ZADD', 'rq:scheduled:' .. queue, scheduledAt, id)
          elseif atFront == '1' then
            redis.call('LPUSH', 'rq:queue:' .. queue, id)
          else
            redis.call('RPUSH', 'rq:queue:' .. queue, id)
          end
        end

        """

    /// Claims one cron tick and enqueues its job, atomically — so cron schedulers running side by side never
    /// enqueue a tick twice. A tick is claimed if it is later than the last claimed tick of the cron job
    /// (`rq:cron_job:{name}:last_tick`); then the job is enqueued (§2.1 writes) and recorded as RQ's cron does
    /// (history capped to the newest 1000, `rq:cron_jobs` score = enqueue time). Returns 1 if enqueued, 0 if the
    /// tick was already claimed.
    static let enqueueCronTick = RedisScript(
        name: "enqueue_cron_tick",
        source: storeJob + """
            local name, tick, id, queue = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
            local enqueuedAt, ttl, historyTTL = ARGV[5], ARGV[6], ARGV[7]
            local tickKey = 'rq:cron_job:' .. name .. ':last_tick'
            local last = tonumber(redis.call('GET', tickKey) or '-1')
            if last >= tick then return 0 end
            redis.call('SET', tickKey, tick, 'EX', historyTTL)
            storeJob(id, queue, ttl, 8, '0', '')
            local history = 'rq:cron_job:' .. name .. ':jobs'
            redis.call('ZADD', history, enqueuedAt, id)
            redis.call('ZREMRANGEBYRANK', history, 0, -1001)
            redis.call('EXPIRE', history, historyTTL)
            redis.call('ZADD', 'rq:cron_jobs', enqueuedAt, name)
            return 1
            """)
}
