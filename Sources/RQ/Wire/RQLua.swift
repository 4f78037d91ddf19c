/// The Lua every script of ``RQScripts`` starts with: RQ's key layout and the steps the scripts share.
///
/// The key layout is written once, in ``RQKeys``: the Lua functions that build keys from ids are generated from it
/// (a script knows some ids only once it runs — the id it pops, a dependent it finds). Keys a caller knows up front
/// reach a script as `KEYS`, built by ``RQKeys`` too.
///
/// The shared steps are each a job transition written once: a job queued, a job started (with RQ's heartbeat TTL),
/// a job stored, a job requeued, dependents released. Swift never writes a transition a script writes; a caller that
/// needs one calls the script.
enum RQLua {
    /// A script: the parts of the prelude it uses, then `body`.
    static func script(_ name: String, _ body: String) -> RedisScript {
        RedisScript(name: name, source: prelude(for: body) + body)
    }

    static let prelude = keyFunctions + transitions

    /// The prelude's definitions that `body` uses, directly or through another definition, in the prelude's order.
    /// Redis runs a script's whole source on every call, so a definition a script never calls would cost it a
    /// closure per call (the worker's scripts run once or twice per job).
    static func prelude(for body: String) -> String {
        var needed = Set<String>()
        var pending = [body]
        while let source = pending.popLast() {
            for definition in definitions where !needed.contains(definition.name) && uses(source, definition.name) {
                needed.insert(definition.name)
                pending.append(definition.source)
            }
        }
        return definitions.filter { needed.contains($0.name) }.map(\.source).joined()
    }

    /// The prelude cut into its definitions: each generated key function or variable (one line), and each
    /// transition (a paragraph: its comment and its function).
    static let definitions: [(name: String, source: String)] = {
        let lines = keyFunctions.split(separator: "\n").map { String($0) + "\n" }
        let paragraphs = transitions.split(separator: "\n\n").map { String($0) + "\n\n" }
        return (lines + paragraphs).map { source in
            let pattern = /local (?:function )?([A-Za-z]+)/
            guard let match = source.firstMatch(of: pattern) else {
                preconditionFailure("a prelude part defines nothing: \(source)")
            }
            return (String(match.1), source)
        }
    }()

    /// Whether Lua `source` mentions `name` as a whole word (a call, or the variable).
    private static func uses(_ source: String, _ name: String) -> Bool {
        // Names are the prelude's own identifiers (letters only), so the pattern always parses.
        source.contains(try! Regex("\\b\(name)\\b"))
    }

    /// `local function jobKey(a) return 'rq:job:' .. a end` and the like, made by calling ``RQKeys`` with a Lua
    /// expression in place of the id.
    static let keyFunctions: String = {
        let a = "' .. a .. '"
        let oneArgument: [(name: String, key: (String) -> String)] = [
            ("queueKey", RQKeys.queue), ("intermediateKey", RQKeys.intermediate), ("jobKey", RQKeys.job),
            ("dependentsKey", RQKeys.dependents), ("dependenciesKey", RQKeys.dependencies),
            ("executionsKey", RQKeys.executions), ("startedKey", RQKeys.started), ("finishedKey", RQKeys.finished),
            ("failedKey", RQKeys.failed), ("deferredKey", RQKeys.deferred), ("scheduledKey", RQKeys.scheduled),
            ("canceledKey", RQKeys.canceled), ("groupKey", RQKeys.group),
        ]
        func lua(_ expression: String) -> String {
            "'\(expression)'".replacing(" .. ''", with: "").replacing("'' .. ", with: "")
        }
        var source = "local queuesKey = \(lua(RQKeys.queues))\n"
        for function in oneArgument {
            source += "local function \(function.name)(a) return \(lua(function.key(a))) end\n"
        }
        source += "local function executionKey(a, b) return \(lua(RQKeys.execution(a, "' .. b .. '"))) end\n"
        source += "local function queueName(key) return string.sub(key, \(RQKeys.queuePrefix.utf8.count + 1)) end\n"
        return source
    }()

    static let transitions = """
        -- RQ's heartbeat TTL (Python's Worker.get_heartbeat_ttl): the job's timeout or the monitoring interval,
        -- whichever is shorter, plus 60 s; the interval plus 60 s for a job without a timeout.
        local function heartbeatTTL(timeout, interval)
          if timeout > 0 then return math.min(timeout, interval) + 60 end
          return interval + 60
        end

        -- An id pushed on its queue: at the front, or at the back.
        local function pushJob(queue, id, atFront)
          if atFront then redis.call('LPUSH', queueKey(queue), id) else redis.call('RPUSH', queueKey(queue), id) end
        end

        -- A job becomes queued (reference §2.1): its status and enqueued_at, its queue listed, its id pushed.
        local function queueJob(id, queue, enqueuedAt, atFront)
          redis.call('HSET', jobKey(id), 'status', 'queued', 'enqueued_at', enqueuedAt)
          redis.call('SADD', queuesKey, queueKey(queue))
          pushJob(queue, id, atFront)
        end

        -- A job put back on its queue (RQ's requeue): its start and end cleared, then queued.
        local function requeueJob(id, queue, enqueuedAt, atFront)
          redis.call('HSET', jobKey(id), 'started_at', '', 'ended_at', '')
          queueJob(id, queue, enqueuedAt, atFront)
        end

        -- A job started by a worker (reference §2.4 step 6): its execution record and executions set, its
        -- started-registry entry (scored by the heartbeat TTL), its status and worker, its key made permanent.
        local function startJob(id, origin, execution, workerName, stamp, epoch, now, ttl)
          local record = executionKey(id, execution)
          redis.call('HSET', record, 'id', execution, 'created_at', epoch, 'last_heartbeat', epoch, 'worker_name', workerName)
          redis.call('EXPIRE', record, ttl)
          redis.call('ZADD', executionsKey(id), now + ttl + 60, execution)
          redis.call('EXPIRE', executionsKey(id), ttl + 60)
          redis.call('ZADD', startedKey(origin), now + ttl, id .. ':' .. execution)
          redis.call('HSET', jobKey(id), 'status', 'started', 'started_at', stamp, 'worker_name', workerName, 'last_heartbeat', stamp)
          redis.call('PERSIST', jobKey(id))
        end

        -- A new job written from the field/value pairs in ARGV[first…], given its ttl (if not ''), and put on its
        -- queue (§2.1) — or in the scheduled registry at scheduledAt (if not '').
        local function storeJob(id, queue, ttl, first, atFront, scheduledAt)
          local fields = {}
          for i = first, #ARGV do fields[#fields + 1] = ARGV[i] end
          redis.call('HSET', jobKey(id), unpack(fields))
          if ttl ~= '' then redis.call('EXPIRE', jobKey(id), ttl) end
          redis.call('SADD', queuesKey, queueKey(queue))
          if scheduledAt ~= '' then
            redis.call('ZADD', scheduledKey(queue), scheduledAt, id)
          else
            pushJob(queue, id, atFront == '1')
          end
        end

        -- Dependents released as Python's Queue.enqueue_dependents(parent): a dependent that is deferred and not
        -- canceled is queued (at the front if it asked to be) when the parent's status allows it (not stopped or
        -- canceled; failed only if it allows failures) and every other dependency whose hash still exists is
        -- finished (or failed, if allowed). Released ids leave the parent's dependents set.
        local function releaseDependents(parent, parentStatus, enqueuedAt)
          if parentStatus == 'stopped' or parentStatus == 'canceled' then return 0 end
          local released = 0
          for _, dep in ipairs(redis.call('SMEMBERS', dependentsKey(parent))) do
            local f = redis.call('HMGET', jobKey(dep), 'status', 'origin', 'allow_dependency_failures', 'enqueue_at_front')
            if f[1] == 'deferred' and f[2] then
              local allowFailure = f[3] == '1'
              local met = true
              for _, other in ipairs(redis.call('SMEMBERS', dependenciesKey(dep))) do
                local status
                if other == parent then status = parentStatus else status = redis.call('HGET', jobKey(other), 'status') end
                if status and not (status == 'finished' or (allowFailure and status == 'failed')) then met = false end
              end
              if met then
                redis.call('ZREM', deferredKey(f[2]), dep)
                queueJob(dep, f[2], enqueuedAt, f[4] == '1')
                redis.call('SREM', dependentsKey(parent), dep)
                released = released + 1
              end
            end
          end
          return released
        end

        """
}
