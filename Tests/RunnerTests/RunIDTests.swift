import Foundation
import Testing

@testable import Runner

@Suite("run ids")
struct RunIDTests {
    @Test("a run id is r, the UTC time to the second, and 6 random characters")
    func format() throws {
        // 2026-12-03T13:46:00.75Z (a fraction of a second is cut, not rounded).
        let id = RunContinuation.newRunID(now: Date(timeIntervalSince1970: 1_796_305_560.75))
        #expect(id.hasPrefix("r20261203-134600-"), "\(id)")
        let suffix = id.dropFirst("r20261203-134600-".count)
        #expect(suffix.count == 6 && suffix.allSatisfy { $0.isLowercase || $0.isNumber })
        #expect(RunContinuation.newRunID(now: Date(timeIntervalSince1970: 0)).hasPrefix("r19700101-000000-"))
        #expect(RunContinuation.newRunID(now: Date(timeIntervalSince1970: 951_825_599)).hasPrefix("r20000229-115959-"))
    }
}
