import PipelineCore
import RunState

/// The pure part of running a step graph: which steps wait for which, when a step is ready,
/// and what a ready step's `if` decides (run, or conclude `skipped`, `cancelled` or
/// `failure` without running), from the states of the steps that finished. No I/O, no store,
/// no clock; `RunExecutor` starts what it says, records and logs.
struct StepScheduler: Sendable {
    let steps: [Step]
    /// The steps each step waits for directly (`needs`, file order, references), ascending.
    let dependencies: [[Int]]
    /// The steps each step waits for, directly or not.
    let ancestors: Ancestry

    /// The steps waiting for each step directly (the reverse of `dependencies`).
    let dependents: [[Int]]

    init(_ pipeline: Pipeline) {
        steps = pipeline.steps
        dependencies = StepGraph.directWaits(pipeline)
        ancestors = Self.ancestors(dependencies)
        var dependents = [[Int]](repeating: [], count: steps.count)
        for (i, ds) in dependencies.enumerated() { for d in ds { dependents[d].append(i) } }
        self.dependents = dependents
    }

    /// Whether every step `index` waits for has finished.
    func isReady(_ index: Int, done: Set<Int>) -> Bool { dependencies[index].allSatisfy(done.contains) }

    enum Decision {
        case run(EvaluationContext)
        case skip(outcome: StepOutcome, message: String)
    }

    /// Evaluates a ready step's `if` as the format says ("Outcomes and conditions"), over
    /// `base`, whose `steps` hold the states of the steps that finished.
    func decide(_ index: Int, context base: EvaluationContext) -> Decision {
        var unsuccessful: [(Int, StepOutcome)] = []
        for a in ancestors.members(of: index) {
            if let conclusion = StepOutcome(recorded: base.steps[steps[a].id.value]?.conclusion),
                conclusion == .failure || conclusion == .cancelled
            {
                unsuccessful.append((a, conclusion))
            }
        }
        return decide(index, context: base, unsuccessful: unsuccessful)
    }

    /// `decide`, given the finished steps that concluded `failure` or `cancelled` (any
    /// steps: only the ones `index` waits for count), so that deciding a step costs the number
    /// of such steps, not the number of steps before it.
    func decide(_ index: Int, context base: EvaluationContext, unsuccessful: [(Int, StepOutcome)]) -> Decision {
        let step = steps[index]
        var anyFailed = false
        var anyFailedOrCancelled = false
        for (a, conclusion) in unsuccessful where ancestors.contains(a, in: index) {
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

    /// Where a run's steps stand: which finished (and how, for those that failed or were
    /// cancelled), which run, which are ready and how many steps each waits for yet. Kept up
    /// to date step by step, so that scheduling a run costs about its number of steps, not
    /// its square.
    struct Progress {
        /// Unfinished steps each step still waits for.
        var waiting: [Int]
        var isDone: [Bool]
        var isRunning: [Bool]
        var doneCount = 0
        var runningCount = 0
        /// Steps neither done nor running whose dependencies all finished, in file order.
        var ready: [Int] = []
        /// Finished steps that concluded `failure` or `cancelled`.
        var unsuccessful: [(Int, StepOutcome)] = []
    }

    /// The progress of a run whose steps `done` finished (with the conclusions `conclusion`
    /// gives) and whose steps `running` run.
    func progress(done: Set<Int>, running: Set<Int> = [], conclusion: (Int) -> StepOutcome?) -> Progress {
        var p = Progress(
            waiting: dependencies.map { $0.count(where: { !done.contains($0) }) },
            isDone: steps.indices.map { done.contains($0) }, isRunning: steps.indices.map { running.contains($0) })
        p.doneCount = done.count
        p.runningCount = running.count
        for i in done.sorted() {
            if let c = conclusion(i), c == .failure || c == .cancelled { p.unsuccessful.append((i, c)) }
        }
        p.ready = steps.indices.filter { p.waiting[$0] == 0 && !p.isDone[$0] && !p.isRunning[$0] }
        return p
    }

    /// Records that step `i` (running, or ready and concluded without running) finished
    /// with `conclusion`: the steps waiting for it may become ready.
    func finished(_ i: Int, conclusion: StepOutcome?, in p: inout Progress) {
        guard !p.isDone[i] else { return }
        if p.isRunning[i] {
            p.isRunning[i] = false
            p.runningCount -= 1
        } else if let at = p.ready.firstIndex(of: i) {
            p.ready.remove(at: at)
        }
        p.isDone[i] = true
        p.doneCount += 1
        if let conclusion, conclusion == .failure || conclusion == .cancelled { p.unsuccessful.append((i, conclusion)) }
        for j in dependents[i] {
            p.waiting[j] -= 1
            if p.waiting[j] == 0 && !p.isDone[j] && !p.isRunning[j] { Self.insertSorted(j, into: &p.ready) }
        }
    }

    /// Records that running step `i` stopped without finishing (the run is stopping).
    func stopped(_ i: Int, in p: inout Progress) {
        guard p.isRunning[i] else { return }
        p.isRunning[i] = false
        p.runningCount -= 1
        Self.insertSorted(i, into: &p.ready)
    }

    static func insertSorted(_ i: Int, into ready: inout [Int]) {
        var at = ready.endIndex
        while at > ready.startIndex && ready[at - 1] > i { at -= 1 }
        if at > ready.startIndex && ready[at - 1] == i { return }
        ready.insert(i, at: at)
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
        var p = progress(done: done, running: running) { StepOutcome(recorded: context.steps[steps[$0].id.value]?.conclusion) }
        return next(&p, stopping: stopping, concurrency: concurrency, context: context)
    }

    /// `next`, on the run's progress `p`, which it updates: the steps it starts run, the
    /// steps it concludes are done.
    func next(_ p: inout Progress, stopping: Bool, concurrency: Int, context: EvaluationContext) -> [Action] {
        guard !stopping else { return [] }
        var context = context
        var actions: [Action] = []
        var progressed = true
        while progressed {
            progressed = false
            var position = 0
            while position < p.ready.count {
                guard p.runningCount < max(1, concurrency) else { break }
                let i = p.ready[position]
                switch decide(i, context: context, unsuccessful: p.unsuccessful) {
                case .run(let stepContext):
                    p.ready.remove(at: position)
                    p.isRunning[i] = true
                    p.runningCount += 1
                    actions.append(.start(i, stepContext))
                case .skip(let outcome, let message):
                    let conclusion = Self.conclusion(outcome, continueOnError: steps[i].continueOnError)
                    context.steps[steps[i].id.value] = StepState(
                        outputs: [:], outcome: outcome.rawValue, conclusion: conclusion.rawValue, errcode: nil)
                    finished(i, conclusion: conclusion, in: &p)
                    actions.append(.conclude(i, outcome: outcome, message: message))
                    progressed = true
                }
                // The next ready step after `i` in file order (steps that became ready before
                // `i` wait for the next pass, as they would in a scan of the file).
                position = p.ready.firstIndex { $0 > i } ?? p.ready.count
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

    /// Every step each step waits for, directly or not, one bit set per step, computed in a
    /// topological order (a step without `needs` waits for every earlier step, so a search per
    /// step, or a set of numbers per step, would cost the square of the number of steps or
    /// more).
    struct Ancestry: Sendable {
        /// 64-bit words per step.
        let words: Int
        /// Step `i`'s set: `bits[i * words ..< (i + 1) * words]`.
        var bits: [UInt64]

        init(count: Int) {
            words = (count + 63) / 64
            bits = [UInt64](repeating: 0, count: count * words)
        }

        /// Whether step `step` waits for step `ancestor`, directly or not.
        func contains(_ ancestor: Int, in step: Int) -> Bool {
            bits[step * words + ancestor >> 6] & (1 << UInt64(ancestor & 63)) != 0
        }

        mutating func insert(_ ancestor: Int, in step: Int) {
            bits[step * words + ancestor >> 6] |= 1 << UInt64(ancestor & 63)
        }

        /// Step `step`'s set, ascending.
        func members(of step: Int) -> [Int] {
            var result: [Int] = []
            for w in 0..<words {
                var rest = bits[step * words + w]
                while rest != 0 {
                    result.append(w * 64 + rest.trailingZeroBitCount)
                    rest &= rest - 1
                }
            }
            return result
        }
    }

    static func ancestors(_ deps: [[Int]]) -> Ancestry {
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
        var result = Ancestry(count: n)
        let words = result.words
        result.bits.withUnsafeMutableBufferPointer { bits in
            for i in order {
                let row = i * words
                for d in deps[i] {
                    bits[row + d >> 6] |= 1 << UInt64(d & 63)
                    let from = d * words
                    for w in 0..<words { bits[row + w] |= bits[from + w] }
                }
            }
        }
        return result
    }

    static func searchAncestors(_ deps: [[Int]]) -> Ancestry {
        var result = Ancestry(count: deps.count)
        for i in deps.indices {
            var seen = Set<Int>()
            var stack = deps[i]
            while let d = stack.popLast() {
                if seen.insert(d).inserted { stack.append(contentsOf: deps[d]) }
            }
            for d in seen { result.insert(d, in: i) }
        }
        return result
    }
}
