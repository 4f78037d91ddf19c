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

    /// A script's source without the prelude's definitions it carries.
    static func body(of script: RedisScript) -> String {
        RQLua.definitions.reduce(script.source) { $0.replacing($1.source, with: "") }
    }

    /// Outside the prelude's generated key functions, no script spells a key of RQ's layout.
    @Test func noScriptSpellsAKey() {
        for script in Self.scripts {
            let body = Self.body(of: script)
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
                let body = Self.body(of: script)
                #expect(!body.contains("local function \(function)("), "\(script.name) redefines \(function)")
            }
        }
    }

    /// Each script carries only the prelude's definitions it uses, yet every function it calls is defined in it (a
    /// missing one would fail only when Redis reaches the call).
    @Test func eachScriptDefinesEveryFunctionItCallsAndNoOther() {
        let builtins: Set<String> = [
            "ipairs", "pairs", "tonumber", "tostring", "unpack", "type", "error", "pcall", "select", "next", "assert",
            "if", "and", "or", "not", "return", "function", "in", "until", "while", "elseif",
        ]
        let call = /(^|[^.:A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_]*)\s*\(/
        for script in Self.scripts {
            let code = script.source.split(separator: "\n").map { line in
                line.firstRange(of: "--").map { String(line[..<$0.lowerBound]) } ?? String(line)
            }.joined(separator: "\n")
            for match in code.matches(of: call) {
                let name = String(match.2)
                guard !builtins.contains(name) else { continue }
                #expect(
                    code.contains("local function \(name)(") || code.contains("local \(name) =")
                        || code.contains("_, \(name) in "),
                    "\(script.name) calls \(name) without defining it")
            }
            let defined = RQLua.definitions.filter { script.source.contains($0.source) }.map(\.name)
            for name in defined where name != "queuesKey" {
                #expect(
                    code.components(separatedBy: name).count > 2,
                    "\(script.name) carries \(name) but never uses it")
            }
        }
        #expect(RQScripts.workerJobEnded.source.utf8.count < RQLua.prelude.utf8.count, "the prelude is cut down")
    }
}
