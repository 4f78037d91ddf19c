// The DocC articles' Swift code blocks (Sources/RQ/RQ.docc), verbatim, so that the build compiles them:
// `DocumentationTests` checks that every ```swift block of an article stands, line for line, in the file of this
// target named after the article (imports at the top of that file). Nothing here runs. Each block is the body of a
// function, after parameters that stand for the names it uses; declarations stand at file level. This file holds
// the stand-ins the blocks share.
import FoundationEssentials
import RQ

/// Stands for an application's own work inside job functions.
func deliver(_ invoice: Invoice, over channel: String) async throws -> Bool { !channel.isEmpty }
func importBatch(_ step: Int) async throws { try Task.checkCancellation() }

/// Stands for an exception handler a runner registers.
let alertOnFailure = ExceptionHandler { _, _ in .continue }
