import CFuzzer
import Glibc

/// The body the running target fuzzes (a C callback cannot capture it).
nonisolated(unsafe) private var currentBody: ([UInt8]) -> Void = { _ in }

/// Runs libFuzzer with this process's arguments (its flags, corpus directories or crash files), calling `body`
/// with each input; exits with libFuzzer's status. A crash in `body` is what libFuzzer reports.
public func fuzz(_ body: @escaping ([UInt8]) -> Void) -> Never {
    currentBody = body
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        currentBody(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }
    exit(status)
}
