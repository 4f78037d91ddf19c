/// The Lua scripts behind operations that read and write several keys atomically in one round trip.
///
/// Each that touches a job starts with ``RQLua/prelude``: keys a caller knows come as `KEYS` built by ``RQKeys``; keys of ids a script
/// finds as it runs are built by the prelude's functions, generated from ``RQKeys`` (single-instance Redis, as RQ
/// itself assumes); the job transitions the scripts share are written once there.
enum RQScripts {
    /// Enqueue with dependencies: defer the job if any parent exists and is not finished, else enqueue it.
    /// ARGV: id, queue, now (int), at_front (0/1), enqueued_at, ttl or "", parent count, parents…, field/value…
    /// Returns 1 when queued, 0 when deferred.
    static let enqueueWithDependencies = RQLua.script(
        "enqueue_with_dependencies",
        """
        local id, queue, now, atFront, enqueuedAt, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
        local parentCount = tonumber(ARGV[7])
        local deferred = false
        for i = 1, parentCount do
          local status = redis.call('HGET', jobKey(ARGV[7 + i]), 'status')
          if status and status ~= 'finished' then deferred = true end
        end
        local fields = {}
        for i = 8 + parentCount, #ARGV do fields[#fields + 1] = ARGV[i] end
        redis.call('HSET', jobKey(id), unpack(fields))
        if deferred then
          redis.call('SADD', queuesKey, queueKey(queue))
          redis.call('HSET', jobKey(id), 'status', 'deferred')
          redis.call('ZADD', deferredKey(queue), now, id)
          for i = 1, parentCount do
            redis.call('SADD', dependentsKey(ARGV[7 + i]), id)
            redis.call('SADD', dependenciesKey(id), ARGV[7 + i])
          end
        else
          queueJob(id, queue, enqueuedAt, atFront == '1')
        end
        if ttl ~= '' then
          for _, key in ipairs({ jobKey(id), dependentsKey(id), dependenciesKey(id) }) do redis.call('EXPIRE', key, ttl) end
        end
        if deferred then return 0 end
        return 1
        """)

    /// Empty a queue: pop every id and delete its job hash and dependents set. KEYS[1]: the queue list.
    /// Returns how many ids were removed.
    static let emptyQueue = RQLua.script(
        "empty_queue",
        """
        local count = 0
        while true do
          local id = redis.call('LPOP', KEYS[1])
          if not id then break end
          redis.call('DEL', jobKey(id), dependentsKey(id))
          count = count + 1
        end
        return count
        """)
}

extension RQScripts {
    /// A worker's dequeue and job start in one round trip (reference §2.4 steps 4–6), for up to N jobs: each start
    /// is the prelude's `startJob`, plus the worker hash's writes.
    ///
    /// KEYS: 1 the worker hash, then the queue list keys in priority order. ARGV: 1 mode (`pop`: take ids from the
    /// queues in order — the script is atomic, so no intermediate list is needed; `fetch`: the id in ARGV[3], already
    /// moved by a blocking pop, into the intermediate list when ARGV[2] is '1'), 2 single-queue flag, 3 id, 4 worker
    /// name, 5 `round_robin` to rotate the queue order past the queue that served each job of a batch (else ""),
    /// 6 hash timestamp, 7 float epoch, 8 integer epoch, 9 job monitoring interval (seconds), 10 N, 11… one execution
    /// id per job.
    /// Returns false when the queues are empty, else a list of `{queue_key, id, hgetall, execution_id}`; an empty
    /// hash means the job is gone and nothing was written for it.
    static let dequeueAndStart = RQLua.script(
        "dequeue_and_start",
        """
        local workerKey = KEYS[1]
        local queueKeys = {}
        for i = 2, #KEYS do queueKeys[#queueKeys + 1] = KEYS[i] end
        local currentExecution
        local lastStarted, lastTTL
        local function start(key, id)
          local hash = redis.call('HGETALL', jobKey(id))
          if #hash == 0 then return { key, id, hash, currentExecution } end
          local timeout, origin = 180, queueName(key)
          for i = 1, #hash, 2 do
            if hash[i] == 'timeout' then timeout = tonumber(hash[i + 1]) or 180
            elseif hash[i] == 'origin' and hash[i + 1] ~= '' then origin = hash[i + 1] end
          end
          local ttl = heartbeatTTL(timeout, tonumber(ARGV[9]))
          startJob(id, origin, currentExecution, ARGV[4], ARGV[6], ARGV[7], tonumber(ARGV[8]), ttl)
          if not lastTTL or ttl > lastTTL then lastTTL = ttl end
          lastStarted = id
          return { key, id, hash, currentExecution }
        end
        -- The worker hash names the last job started; written once per call, however many jobs it starts.
        local function markWorkerBusy()
          if not lastStarted then return end
          redis.call('HSET', workerKey, 'state', 'busy', 'current_job', lastStarted, 'current_job_working_time', '0', 'last_heartbeat', ARGV[6])
          redis.call('EXPIRE', workerKey, lastTTL)
        end
        if ARGV[1] == 'fetch' then
          -- After a blocking BLMOVE the id sits in the intermediate list: take it out as the job starts.
          currentExecution = ARGV[11]
          local result = start(queueKeys[1], ARGV[3])
          if ARGV[2] == '1' then redis.call('LREM', intermediateKey(queueName(queueKeys[1])), 1, ARGV[3]) end
          markWorkerBusy()
          return { result }
        end
        -- The script is atomic, so an id goes from the queue to started in one step: no intermediate list here.
        local results = {}
        local keys = queueKeys
        for n = 1, tonumber(ARGV[10]) do
          local found = false
          for position, key in ipairs(keys) do
            local id = redis.call('LPOP', key)
            if id then
              currentExecution = ARGV[10 + n]
              results[#results + 1] = start(key, id)
              found = true
              if ARGV[5] == 'round_robin' then
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

    /// The start of a job run by the `sync` pseudo-worker of a synchronous queue: the prelude's `startJob`, which
    /// writes no worker hash. It sends no heartbeats, so its TTL covers the job's timeout: the interval is the
    /// timeout (or RQ's 360 s for a job without one). ARGV: 1 id, 2 origin, 3 execution id, 4 worker name,
    /// 5 hash timestamp, 6 float epoch, 7 integer epoch, 8 timeout (seconds, -1 for none).
    static let startSynchronousJob = RQLua.script(
        "start_synchronous_job",
        """
        local timeout = tonumber(ARGV[8])
        local interval = timeout
        if timeout <= 0 then interval = 360 end
        startJob(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), heartbeatTTL(timeout, interval))
        return 1
        """)

    /// A worker's heartbeat (reference §2.9): its hash's `last_heartbeat`, and for each job it runs the execution
    /// record, started-registry entry and executions set given the prelude's heartbeat TTL again; the worker hash
    /// lives as long as the longest of them (or the worker TTL plus 60 s when idle); a horse worker's `swift_horses`
    /// field (its horses, see `WorkerPool.horsesField`) is written in the same call.
    /// KEYS[1] the worker hash. ARGV: 1 hash timestamp, 2 float epoch, 3 integer epoch, 4 job monitoring interval,
    /// 5 worker TTL, 6 the `swift_horses` JSON (empty: no field, an in-process worker), then five per running job:
    /// id, execution id, origin, timeout (seconds), seconds it has run.
    /// Returns 0 if the worker hash had gone (its worker registers again), else 1.
    static let heartbeat = RQLua.script(
        "heartbeat",
        """
        local workerKey, stamp, epoch, now, interval = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
        local existed = redis.call('HEXISTS', workerKey, 'birth')
        redis.call('HSET', workerKey, 'last_heartbeat', stamp)
        if ARGV[6] ~= '' then redis.call('HSET', workerKey, 'swift_horses', ARGV[6]) end
        local longest = 0
        for i = 7, #ARGV, 5 do
          local id, execution, origin = ARGV[i], ARGV[i + 1], ARGV[i + 2]
          local ttl = heartbeatTTL(tonumber(ARGV[i + 3]), interval)
          if ttl > longest then longest = ttl end
          redis.call('HSET', executionKey(id, execution), 'last_heartbeat', epoch)
          redis.call('EXPIRE', executionKey(id, execution), ttl)
          redis.call('ZADD', startedKey(origin), 'XX', now + ttl, id .. ':' .. execution)
          redis.call('ZADD', executionsKey(id), now + ttl + 60, execution)
          redis.call('EXPIRE', executionsKey(id), ttl + 60)
          redis.call('HSET', jobKey(id), 'last_heartbeat', stamp)
          redis.call('HSET', workerKey, 'current_job_working_time', ARGV[i + 4])
        end
        if longest == 0 then longest = tonumber(ARGV[5]) + 60 end
        redis.call('EXPIRE', workerKey, longest)
        return existed
        """)
}

extension RQScripts {
    /// Takes back the jobs a worker started but never heard of (the reply of the script that started them was lost
    /// with the connection): their started-registry entry, execution records and start go, and they are requeued at
    /// the front of their queue. KEYS: 1 started registry. ARGV: 1 worker name, 2 enqueued_at, then the ids of the
    /// jobs the worker knows it runs or is recording. Returns the ids requeued.
    static let requeueLostStarts = RQLua.script(
        "requeue_lost_starts",
        """
        local known = {}
        for i = 3, #ARGV do known[ARGV[i]] = true end
        local requeued = {}
        for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
          local id, e = string.match(member, '^(.*):([^:]*)$')
          if id and not known[id] then
            if redis.call('HGET', executionKey(id, e), 'worker_name') == ARGV[1] then
              redis.call('ZREM', KEYS[1], member)
              redis.call('DEL', executionKey(id, e))
              redis.call('ZREM', executionsKey(id), e)
              local origin = redis.call('HGET', jobKey(id), 'origin')
              if origin then
                requeueJob(id, origin, ARGV[2], true)
                requeued[#requeued + 1] = id
              end
            end
          end
        end
        return requeued
        """)

    /// The worker's side of a job's end, sent inside the outcome's transaction: its counters, its state, and the
    /// release of the job's dependents (the prelude's `releaseDependents`) — one command where there were four.
    /// The state is written only if no job started since: the outcome write is built before it is sent, and with it
    /// on its way the worker may already have started its next job (whose start script set `current_job`).
    /// KEYS[1] worker key. ARGV: 1 the ended job's id, 2 a job still running to name as current, or "" when none
    /// runs (the worker is idle), 3 the counter to add one to (`successful_job_count`, `failed_job_count`) or ""
    /// for none, 4 the seconds to add to `total_working_time`, 5 the status to release dependents with, or "" to
    /// release none, 6 `enqueued_at` for released dependents. Returns how many dependents were queued.
    static let workerJobEnded = RQLua.script(
        "worker_job_ended",
        """
        if ARGV[3] ~= '' then
          redis.call('HINCRBY', KEYS[1], ARGV[3], 1)
          redis.call('HINCRBYFLOAT', KEYS[1], 'total_working_time', ARGV[4])
        end
        local current = redis.call('HGET', KEYS[1], 'current_job')
        if not current or current == ARGV[1] then
          if ARGV[2] == '' then
            redis.call('HSET', KEYS[1], 'state', 'idle')
            redis.call('HDEL', KEYS[1], 'current_job')
          else
            redis.call('HSET', KEYS[1], 'current_job', ARGV[2])
          end
        end
        if ARGV[5] == '' then return 0 end
        return releaseDependents(ARGV[1], ARGV[5], ARGV[6])
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
    /// KEYS[1] the scheduled registry. ARGV: 1 queue, 2 now (integer epoch), 3 enqueued_at timestamp. Returns how many
    /// were queued.
    static let enqueueDueJobs = RQLua.script(
        "enqueue_due_jobs",
        """
        local queue, now, stamp = ARGV[1], ARGV[2], ARGV[3]
        local ids = redis.call('ZRANGEBYSCORE', KEYS[1], 0, now, 'LIMIT', 0, 1000)
        local moved = 0
        for _, id in ipairs(ids) do
          redis.call('ZREM', KEYS[1], id)
          if redis.call('EXISTS', jobKey(id)) == 1 then
            local front = redis.call('HMGET', jobKey(id), 'enqueue_at_front', 'enqueue_at_front_on_retry')
            queueJob(id, queue, stamp, front[1] == '1' or front[2] == '1')
            moved = moved + 1
          end
        end
        return moved
        """)
}

extension RQScripts {
    /// A unique enqueue (RQ 2.8's `unique=True`): write and queue the job only if no job has its id.
    /// KEYS[1] the job hash. ARGV: 1 id, 2 queue, 3 at_front (0/1), 4 ttl or "", 5 scheduled time (epoch) or "" to
    /// queue at once, 6… field/value pairs. Returns 1 if stored, 0 if the id exists.
    static let enqueueUnique = RQLua.script(
        "enqueue_unique",
        """
        local id, queue, atFront, ttl, scheduledAt = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        storeJob(id, queue, ttl, 6, atFront, scheduledAt)
        return 1
        """)

    /// Claims one cron tick and enqueues its job, atomically — so cron schedulers running side by side never
    /// enqueue a tick twice. A tick is claimed if it is later than the last claimed tick of the cron job
    /// (`rq:cron_job:{name}:last_tick`); then the job is stored and queued (§2.1) and recorded as RQ's cron does
    /// (history capped to the newest 1000, `rq:cron_jobs` score = enqueue time). KEYS: 1 the last-tick key, 2 the
    /// history, 3 `rq:cron_jobs`. ARGV: 1 name, 2 tick, 3 id, 4 queue, 5 enqueue time, 6 ttl or "", 7 history TTL,
    /// 8… field/value pairs. Returns 1 if enqueued, 0 if the tick was already claimed.
    static let enqueueCronTick = RQLua.script(
        "enqueue_cron_tick",
        """
        local name, tick, id, queue = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
        local enqueuedAt, ttl, historyTTL = ARGV[5], ARGV[6], ARGV[7]
        local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
        if last >= tick then return 0 end
        redis.call('SET', KEYS[1], tick, 'EX', historyTTL)
        storeJob(id, queue, ttl, 8, '0', '')
        redis.call('ZADD', KEYS[2], enqueuedAt, id)
        redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -1001)
        redis.call('EXPIRE', KEYS[2], historyTTL)
        redis.call('ZADD', KEYS[3], enqueuedAt, name)
        return 1
        """)
}
