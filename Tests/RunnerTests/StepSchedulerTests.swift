import MasscastTesting
import PipelineCore
import PipelineYAML
import RunState
import Testing

@testable import Runner

/// The scheduler decides readiness and `if` from the finished steps' states alone: no store,
/// no sandbox, no clock.
@Suite("step scheduler")
struct StepSchedulerTests {
    static let text = """
        version: 1
        name: scheduling
        account: brand-main
        steps:
          - id: a
            uses: mass/speed
          - id: b
            uses: mass/speed
            needs: [a]
          - id: rescue
            uses: mass/speed
            needs: [a]
            if: failure()
          - id: report
            uses: mass/speed
            needs: [b]
            if: always()
          - id: never
            uses: mass/speed
            needs: [b]
            if: false
          - id: after
            uses: mass/speed
            needs: [b]
        """

    func scheduler() throws -> StepScheduler {
        let loaded = PipelineLoader().load(text: Self.text, file: "scheduling.yaml")
        #expect(!loaded.hasErrors, "\(loaded.diagnostics)")
        return StepScheduler(try #require(loaded.pipeline))
    }

    func context(_ conclusions: [String: StepOutcome]) -> EvaluationContext {
        var steps: [String: StepState] = [:]
        for (id, c) in conclusions {
            steps[id] = StepState(outputs: [:], outcome: c.rawValue, conclusion: c.rawValue, errcode: nil)
        }
        return EvaluationContext(inputs: [:], env: [:], secrets: [:], steps: steps, pipelineName: "scheduling", runID: "r1")
    }

    func verdict(_ s: StepScheduler, _ id: String, _ conclusions: [String: StepOutcome]) -> String {
        let i = s.steps.firstIndex { $0.id.value == id }!
        switch s.decide(i, context: context(conclusions)) {
        case .run: return "run"
        case .skip(let outcome, let message): return "\(outcome.rawValue): \(message)"
        }
    }

    @Test("a step is ready when every step it waits for has finished; ancestors are transitive")
    func readiness() throws {
        let s = try scheduler()
        #expect(s.isReady(0, done: []))
        #expect(!s.isReady(1, done: []))
        #expect(s.isReady(1, done: [0]))
        #expect(!s.isReady(3, done: [0]))
        #expect(s.ancestors.members(of: 3) == [0, 1])
        #expect(s.ancestors.members(of: 5) == [0, 1])
    }

    @Test("after a success: steps run, failure() is skipped, a false if is skipped with its text")
    func afterSuccess() throws {
        let s = try scheduler()
        #expect(verdict(s, "b", ["a": .success]) == "run")
        #expect(verdict(s, "rescue", ["a": .success]) == "skipped: `if` is false: failure()")
        #expect(verdict(s, "never", ["a": .success, "b": .success]) == "skipped: `if` is false: false")
        #expect(verdict(s, "report", ["a": .success, "b": .success]) == "run")
    }

    @Test("after a failure: dependants are cancelled, failure() and always() run")
    func afterFailure() throws {
        let s = try scheduler()
        #expect(verdict(s, "b", ["a": .failure]) == "cancelled: a step it waits for failed")
        #expect(verdict(s, "rescue", ["a": .failure]) == "run")
        // A cancelled step cancels what waits for it, except always().
        #expect(verdict(s, "after", ["a": .failure, "b": .cancelled]) == "cancelled: a step it waits for failed")
        #expect(verdict(s, "never", ["a": .failure, "b": .cancelled]) == "cancelled: a step it waits for failed")
        #expect(verdict(s, "report", ["a": .failure, "b": .cancelled]) == "run")
        // A skipped step is not a failure.
        #expect(verdict(s, "after", ["a": .success, "b": .skipped]) == "run")
    }

    /// The scheduler's next actions, as "start x" / "x: outcome: message".
    func next(
        _ s: StepScheduler, done: [String], running: [String] = [], stopping: Bool = false, concurrency: Int = 4,
        _ conclusions: [String: StepOutcome] = [:]
    ) -> [String] {
        func index(_ id: String) -> Int { s.steps.firstIndex { $0.id.value == id }! }
        return s.next(
            done: Set(done.map(index)), running: Set(running.map(index)), stopping: stopping, concurrency: concurrency,
            context: context(conclusions)
        ).map { action in
            switch action {
            case .start(let i, _): return "start \(s.steps[i].id.value)"
            case .conclude(let i, let outcome, let message): return "\(s.steps[i].id.value): \(outcome.rawValue): \(message)"
            }
        }
    }

    @Test("next: ready steps start in file order; a step concluded without running counts as done for the next")
    func nextActions() throws {
        let s = try scheduler()
        #expect(next(s, done: []) == ["start a"])
        #expect(next(s, done: [], running: ["a"]) == [])
        #expect(
            next(s, done: ["a"], ["a": .success]) == ["start b", "rescue: skipped: `if` is false: failure()"])
        // After a failure the chain of cancellations is concluded in one go; always() and
        // failure() start.
        #expect(
            next(s, done: ["a"], ["a": .failure]) == [
                "b: cancelled: a step it waits for failed", "start rescue", "start report",
                "never: cancelled: a step it waits for failed", "after: cancelled: a step it waits for failed",
            ])
        #expect(s.isComplete(done: Set(s.steps.indices)))
        #expect(!s.isComplete(done: [0, 1]))
    }

    @Test("next: a stopping run starts and concludes nothing; concurrency bounds what runs at once")
    func nextStoppingAndConcurrency() throws {
        let s = try scheduler()
        #expect(next(s, done: [], stopping: true) == [])
        #expect(next(s, done: ["a"], stopping: true, ["a": .failure]) == [])
        // Full: nothing more starts, and nothing after it in file order is concluded yet.
        #expect(
            next(s, done: ["a", "b"], concurrency: 1, ["a": .success, "b": .success]) == [
                "rescue: skipped: `if` is false: failure()", "start report",
            ])
        #expect(next(s, done: ["a", "b"], running: ["report"], concurrency: 1, ["a": .success, "b": .success]) == [])
        #expect(
            next(s, done: ["a", "b"], concurrency: 2, ["a": .success, "b": .success]) == [
                "rescue: skipped: `if` is false: failure()", "start report", "never: skipped: `if` is false: false",
                "start after",
            ])
    }

    @Test("progress kept step by step: a run's steps start and conclude as a scan of the whole file would decide")
    func progressStepByStep() throws {
        let s = try scheduler()
        func name(_ actions: [StepScheduler.Action]) -> [String] {
            actions.map { action in
                switch action {
                case .start(let i, _): return "start \(s.steps[i].id.value)"
                case .conclude(let i, let outcome, _): return "\(s.steps[i].id.value): \(outcome.rawValue)"
                }
            }
        }
        var conclusions: [String: StepOutcome] = [:]
        var p = s.progress(done: []) { _ in nil }
        #expect(name(s.next(&p, stopping: false, concurrency: 4, context: context(conclusions))) == ["start a"])
        conclusions["a"] = .failure
        s.finished(0, conclusion: .failure, in: &p)
        #expect(
            name(s.next(&p, stopping: false, concurrency: 4, context: context(conclusions))) == [
                "b: cancelled", "start rescue", "start report", "never: cancelled", "after: cancelled",
            ])
        #expect(p.runningCount == 2 && p.doneCount == 4)
        // A stopped step is neither done nor started again while the run stops.
        s.stopped(2, in: &p)
        #expect(p.runningCount == 1 && p.ready == [2])
        #expect(s.next(&p, stopping: true, concurrency: 4, context: context(conclusions)).isEmpty)
        s.finished(3, conclusion: .success, in: &p)
        #expect(p.doneCount == 5 && p.runningCount == 0)
        // A resumed run: its kept failure still cancels what waits for it.
        var resumed = s.progress(done: [0]) { $0 == 0 ? .failure : nil }
        #expect(
            name(s.next(&resumed, stopping: false, concurrency: 4, context: context(["a": .failure])))
                == ["b: cancelled", "start rescue", "start report", "never: cancelled", "after: cancelled"])
    }

    @Test("a failure of a step with continue_on_error concludes success; other outcomes conclude as they are")
    func conclusions() {
        #expect(StepScheduler.conclusion(.failure, continueOnError: true) == .success)
        #expect(StepScheduler.conclusion(.failure, continueOnError: false) == .failure)
        #expect(StepScheduler.conclusion(.cancelled, continueOnError: true) == .cancelled)
        #expect(StepScheduler.conclusion(.skipped, continueOnError: false) == .skipped)
    }

    @Test("ancestors from the bit sets are those a search from each step finds, on 200 generated graphs up to 150 steps")
    func ancestryMatchesSearch() {
        var random = SeededRandom(seed: 0xA11C_E570)
        for round in 0..<200 {
            let n = random.int(in: 1...(round < 150 ? 40 : 150))
            // Edges to earlier steps only (a pipeline without errors has no cycle); a step
            // without `needs` waits for all earlier ones, which some steps here do.
            let deps: [[Int]] = (0..<n).map { i in
                guard i > 0 else { return [] }
                if random.int(in: 0...3) == 0 { return Array(0..<i) }
                return Array(Set((0..<random.int(in: 0...min(i, 3))).map { _ in random.int(in: 0...(i - 1)) })).sorted()
            }
            let fast = StepScheduler.ancestors(deps)
            let searched = StepScheduler.searchAncestors(deps)
            for i in 0..<n {
                let expected = searched.members(of: i)
                #expect(fast.members(of: i) == expected, "round \(round), step \(i)")
                #expect((0..<n).filter { fast.contains($0, in: i) } == expected, "round \(round), step \(i)")
            }
        }
    }

    @Test("a cycle (only in a pipeline with errors) falls back to the search: each step on it is its own ancestor")
    func ancestryOfCycle() {
        let a = StepScheduler.ancestors([[2], [0], [1], []])
        #expect(a.members(of: 0) == [0, 1, 2])
        #expect(a.members(of: 3) == [])
    }
}

