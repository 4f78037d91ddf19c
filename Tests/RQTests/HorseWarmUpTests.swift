import Testing

@testable import RQ

@Suite struct HorseWarmUpTests {
    /// A warm horse's warm-up decodes its sample assignment and runs the no-op job to a report; if it silently
    /// failed, horses would pay their first-use costs after their job arrives again.
    @Test func theWarmUpRunsItsNoOpJob() async {
        #expect(await JobRunner.warmUp())
    }
}
