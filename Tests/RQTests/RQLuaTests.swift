import Foundation
import Testing

@testable import RQ

/// The wire in one place: scripts take RQ's key layout from `RQKeys`, never spell it themselves.
@Suite struct RQLuaTests {
    static let scripts: [RedisScript] = [
        RQScripts.enqueueWithDependencies, RQScripts.emptyQueue, RQScripts.dequeueAndStart,
        RQScripts.startSynchronousJob, RQScripts.heartbeat, RQScripts.requeueLostStarts, RQScripts.workerJobEnded,
        RQScripts.acquireSchedulerLock, RQScripts.releaseSchedulerLock, RQScripts.enqueueDueJobs,
        RQScripts.enqueueUnique, RQScripts.enqueueCronTick, RQScripts.releaseDependents, RQScripts.cancel,
        RQScripts.delete, RQScripts.requeue,
    ]

    @Test func keyFunctionsAreGeneratedFromRQKeys() {
        let lua = RQLua.keyFunctions
        #expect(lua.contains("local function jobKey(a) return 'rq:job:' .. a end"))
        #expect(lua.contains("local function dependenciesKey(a) return 'rq:job::' .. a .. ':dependencies' end"))
        #expect(lua.contains("local function executionKey(a, b) return 'rq:execution:' .. a .. ':' .. b end"))
        #expect(lua.contains("local function startedKey(a) return 'rq:wip:' .. a end"))
        #expect(lua.contains("local queuesKey = 'rq:queues'"))
        #expect(lua.contains("string.sub(key, 10)"), "queueName drops `rq:queue:`, 9 characters")
    }

    /// Outside the prelude's generated key functions, no script spells a key of RQ's layout.
    @Test func noScriptSpellsAKey() {
        for script in Self.scripts {
            let body = script.source.replacing(RQLua.keyFunctions, with: "")
            #expect(!body.contains("'rq:"), "\(script.name) spells a key")
            #expect(!body.contains("\"rq:"), "\(script.name) spells a key")
        }
    }

    /// Each job transition the scripts share is defined once, in the prelude.
    @Test func eachSharedTransitionIsDefinedOnce() {
        for function in [
            "heartbeatTTL", "pushJob", "queueJob", "requeueJob", "startJob", "storeJob", "releaseDependents",
        ] {
            #expect(RQLua.prelude.components(separatedBy: "local function \(function)(").count == 2, "\(function)")
            for script in Self.scripts {
                let body = script.source.replacing(RQLua.prelude, with: "")
                #expect(!body.contains("local function \(function)("), "\(script.name) redefines \(function)")
            }
        }
    }
}
