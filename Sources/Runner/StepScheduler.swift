import PipelineCore
import RunState

/// The pure part of running a step graph: which steps wait for which, when a step is ready,
/// and what a ready step's `if` decides (run, or conclude `skipped`, `cancelled` or
/// `failure` without running), from the states of the steps that finished. No I/O, no store,
/// no clock; `RunExecutor` starts what it says, records and logs.
struct StepScheduler: Sendable {
    let steps: [Step]
    /// The steps each step waits for directly (`needs`, file order, references).
    let dependencies: [Set<Int>]
    /// The steps each step waits for, directly or not.
    let ancestors: [Set<Int>]

    init(_ pipeline: Pipeline) {
        steps = pipeline.steps
        dependencies = StepGraph(pipeline).dependencies
        ancestors = Self.ancestors(dependencies)
    }

    /// Whether every step `index` waits for has finished.
    func isReady(_ index: Int, done: Set<Int>) -> Bool { dependencies[index].isSubset(of: done) }

    enum Decision {
        case run(EvaluationContext)
        case skip(outcome: StepOutcome, message: String)
    }

    /// Evaluates a ready step's `if` as the format says ("Outcomes and conditions"), over
    /// `base`, whose `steps` hold the states of the steps that finished.
    func decide(_ index: Int, context base: EvaluationContext) -> Decision {
        let step = steps[index]
        var anyFailed = false
        var anyFailedOrCancelled = false
        for a in ancestors[index] {
            let conclusion = StepOutcome(recorded: base.steps[steps[a].id.value]?.conclusion)
            if conclusion == .failure { anyFailed = true; anyFailedOrCancelled = true }
            if conclusion == .cancelled { anyFailedOrCancelled = true }
        }
        let success = !anyFailedOrCancelled
        var context = base
        context.statusSuccess = success
        context.statusFailure = anyFailed
        let skippedOutcome: StepOutcome = success ? .skipped : .cancelled
        guard let condition = step.condition else {
            return success ? .run(context) : .skip(outcome: .cancelled, message: "a step it waits for failed")
        }
        var value: Bool
        if let constant = condition.constant {
            value = constant
        } else if let expression = condition.expression {
            do {
                let result = try expression.evaluate(in: context)
                guard case .bool(let b) = result else {
                    return .skip(outcome: .failure, message: "`if` gave \(result.typeName), not a boolean")
                }
                value = b
            } catch {
                return .skip(outcome: .failure, message: "`if` could not be evaluated: \(error.message)")
            }
        } else {
            value = false
        }
        if !condition.usesStatusFunction { value = success && value }
        if value { return .run(context) }
        return .skip(
            outcome: skippedOutcome,
            message: success ? "`if` is false: \(condition.source.trimmingCharacters(in: .whitespaces))" : "a step it waits for failed")
    }

    /// What the executor does next with a step: start it with the context its `if` was
    /// evaluated in, or conclude it without running (its `if` said so).
    enum Action {
        case start(Int, EvaluationContext)
        case conclude(Int, outcome: StepOutcome, message: String)
    }

    /// The steps to start or conclude now, in file order, given the steps `done` (finished,
    /// or concluded without running), those `running`, and whether the run is `stopping`
    /// (Ctrl-C, a lost ownership, a step that stopped): a stopping run starts nothing and
    /// concludes nothing, it lets the steps in flight end. At most `concurrency` steps run at
    /// once. A step concluded here counts as done for the steps after it, with its outcome
    /// in the context their `if` sees, as the executor will record it.
    func next(
        done: Set<Int>, running: Set<Int>, stopping: Bool, concurrency: Int, context: EvaluationContext
    ) -> [Action] {
        guard !stopping else { return [] }
        var done = done
        var running = running
        var context = context
        var actions: [Action] = []
        var progressed = true
        while progressed {
            progressed = false
            for i in steps.indices where !done.contains(i) && !running.contains(i) {
                guard running.count < max(1, concurrency) else { break }
                guard isReady(i, done: done) else { continue }
                switch decide(i, context: context) {
                case .run(let stepContext):
                    running.insert(i)
                    actions.append(.start(i, stepContext))
                case .skip(let outcome, let message):
                    let conclusion = Self.conclusion(outcome, continueOnError: steps[i].continueOnError)
                    context.steps[steps[i].id.value] = StepState(
                        outputs: [:], outcome: outcome.rawValue, conclusion: conclusion.rawValue, errcode: nil)
                    done.insert(i)
                    actions.append(.conclude(i, outcome: outcome, message: message))
                    progressed = true
                }
            }
        }
        return actions
    }

    /// Whether a run whose steps `done` have finished has run all of its steps.
    func isComplete(done: Set<Int>) -> Bool { done.count == steps.count }

    /// A step's conclusion: its outcome, except that a failure of a step with
    /// `continue_on_error` concludes `success`.
    static func conclusion(_ outcome: StepOutcome, continueOnError: Bool) -> StepOutcome {
        outcome == .failure && continueOnError ? .success : outcome
    }

    /// Every step each step waits for, directly or not. Computed once per step in a
    /// topological order, as bit sets (a step without `needs` waits for every earlier step,
    /// so a search per step would be cubic in the number of steps).
    static func ancestors(_ deps: [Set<Int>]) -> [Set<Int>] {
        let n = deps.count
        var waiting = deps.map(\.count)
        var dependents = [[Int]](repeating: [], count: n)
        for (i, ds) in deps.enumerated() { for d in ds { dependents[d].append(i) } }
        var order: [Int] = []
        order.reserveCapacity(n)
        var ready = (0..<n).filter { waiting[$0] == 0 }
        while let i = ready.popLast() {
            order.append(i)
            for j in dependents[i] {
                waiting[j] -= 1
                if waiting[j] == 0 { ready.append(j) }
            }
        }
        // A cycle (not in a pipeline without errors): search from each step instead.
        guard order.count == n else { return searchAncestors(deps) }
        let words = (n + 63) / 64
        var bits = [[UInt64]](repeating: [], count: n)
        for i in order {
            var b = [UInt64](repeating: 0, count: words)
            for d in deps[i] {
                b[d >> 6] |= 1 << UInt64(d & 63)
                for w in 0..<words { b[w] |= bits[d][w] }
            }
            bits[i] = b
        }
        return bits.map { b in
            var set = Set<Int>()
            for (w, word) in b.enumerated() {
                var rest = word
                while rest != 0 {
                    set.insert(w * 64 + rest.trailingZeroBitCount)
                    rest &= rest - 1
                }
            }
            return set
        }
    }

    static func searchAncestors(_ deps: [Set<Int>]) -> [Set<Int>] {
        var result: [Set<Int>] = Array(repeating: [], count: deps.count)
        for i in deps.indices {
            var seen = Set<Int>()
            var stack = Array(deps[i])
            while let d = stack.popLast() {
                if seen.insert(d).inserted { stack.append(contentsOf: deps[d]) }
            }
            result[i] = seen
        }
        return result
    }

}
