/// The steps and what each waits for: `needs`, references in expressions, and, for a step
/// without `needs`, every step listed before it.
public struct StepGraph: Sendable {
    /// Why one step waits for another.
    public enum EdgeReason: String, Sendable, Hashable { case needs, reference, order }

    public struct Edge: Sendable, Hashable {
        public var from: Int
        public var to: Int
        public var reason: EdgeReason
    }

    public let pipeline: Pipeline
    /// Every dependency (`from` must finish before `to` starts), valid ones only.
    public let edges: [Edge]
    /// `dependencies[i]`: the steps step `i` waits for directly.
    public let dependencies: [Set<Int>]

    public init(_ pipeline: Pipeline) {
        self.pipeline = pipeline
        var edges: [Edge] = []
        var deps = [Set<Int>](repeating: [], count: pipeline.steps.count)
        Self.forEachWait(pipeline) { from, to, reason in
            if deps[to].contains(from) {
                // A step that also reads an earlier one it waits for by file order: the edge
                // passes a value, which is what a picture should show.
                if reason != .order, let k = edges.firstIndex(where: { $0.from == from && $0.to == to && $0.reason == .order }) {
                    edges[k].reason = reason
                }
                return
            }
            deps[to].insert(from)
            edges.append(Edge(from: from, to: to, reason: reason))
        }
        self.edges = edges
        self.dependencies = deps
    }

    /// The steps each step waits for directly (`dependencies`, each list ascending), without
    /// the edges: what running a pipeline needs, at the cost of its number of waits. (A
    /// pipeline of steps without `needs` has a wait for every pair of steps.)
    public static func directWaits(_ pipeline: Pipeline) -> [[Int]] {
        var waits = [[Int]](repeating: [], count: pipeline.steps.count)
        // `listed[from] == to`: the wait is listed already (every wait of a step is given
        // before those of the next step).
        var listed = [Int](repeating: -1, count: pipeline.steps.count)
        forEachWait(pipeline) { from, to, _ in
            guard listed[from] != to else { return }
            listed[from] = to
            waits[to].append(from)
        }
        for i in waits.indices where !waits[i].isEmpty { waits[i].sort() }
        return waits
    }

    /// Every wait of the pipeline, step by step in file order: a step's `needs` (or, without
    /// `needs`, every step listed before it), then the earlier steps its expressions read. A
    /// pair can be given twice (by order and by a reference); a step never waits for itself.
    static func forEachWait(_ pipeline: Pipeline, _ body: (_ from: Int, _ to: Int, EdgeReason) -> Void) {
        let index = Dictionary(pipeline.steps.enumerated().map { ($1.id.value, $0) }, uniquingKeysWith: { a, _ in a })
        for (i, step) in pipeline.steps.enumerated() {
            if let needs = step.needs {
                for n in needs { if let j = index[n.value], j != i { body(j, i, .needs) } }
            } else {
                for j in 0..<i { body(j, i, .order) }
            }
            for r in step.references { if let j = index[r.value], j < i { body(j, i, .reference) } }
        }
    }

    /// A cycle as a list of step indices (first repeated at the end), or `nil`.
    public func findCycle() -> [Int]? {
        let n = dependencies.count
        var state = [UInt8](repeating: 0, count: n)  // 0 new, 1 on stack, 2 done
        var parent = [Int](repeating: -1, count: n)
        for start in 0..<n where state[start] == 0 {
            var stack: [(Int, [Int])] = [(start, Array(dependencies[start]).sorted())]
            state[start] = 1
            while !stack.isEmpty {
                let (node, rest) = stack[stack.count - 1]
                if let next = rest.first {
                    stack[stack.count - 1].1.removeFirst()
                    if state[next] == 1 {
                        // node waits for next, which is on the stack: walk back from node to next.
                        var cycle = [next]
                        var cur = node
                        while cur != next && cur != -1 {
                            cycle.append(cur)
                            cur = parent[cur]
                        }
                        cycle.append(next)
                        return cycle
                    }
                    if state[next] == 0 {
                        state[next] = 1
                        parent[next] = node
                        stack.append((next, Array(dependencies[next]).sorted()))
                    }
                } else {
                    state[node] = 2
                    stack.removeLast()
                }
            }
        }
        return nil
    }

    /// Edges with every edge implied by others removed, for drawing.
    public func reducedEdges() -> [Edge] {
        guard findCycle() == nil else { return edges }
        let n = dependencies.count
        // ancestors[i]: every step that i waits for, directly or not.
        var ancestors = [Set<Int>](repeating: [], count: n)
        var done = [Bool](repeating: false, count: n)
        func visit(_ i: Int) {
            if done[i] { return }
            done[i] = true
            for d in dependencies[i] {
                visit(d)
                ancestors[i].insert(d)
                ancestors[i].formUnion(ancestors[d])
            }
        }
        for i in 0..<n { visit(i) }
        return edges.filter { e in
            !dependencies[e.to].contains { other in other != e.from && ancestors[other].contains(e.from) }
        }
    }

    // MARK: Checks

    /// Graph diagnostics: unknown and self `needs`, cycles, deletes that can never work.
    public static func check(_ pipeline: Pipeline) -> [Diagnostic] {
        var bag = DiagnosticBag()
        var position: [String: Int] = [:]
        for (i, step) in pipeline.steps.enumerated() where position[step.id.value] == nil { position[step.id.value] = i }
        var allIDs: [String] { pipeline.steps.map(\.id.value) }
        var pointsForward = false
        for (i, step) in pipeline.steps.enumerated() {
            var seen: [String: SourceLocation] = [:]
            for need in step.needs ?? [] {
                if need.value == step.id.value {
                    bag.error(.selfDependency, "step '\(step.id.value)' needs itself", at: need.location,
                              hint: "remove '\(need.value)' from needs")
                } else if position[need.value] == nil {
                    let suggestion = Suggestion.closest(to: need.value, among: allIDs)
                    bag.error(.unknownStep, "step '\(step.id.value)' needs '\(need.value)', which is not a step of this pipeline",
                              at: need.location, hint: suggestion.map { "did you mean '\($0)'?" })
                }
                if let j = position[need.value], j > i { pointsForward = true }
                if let first = seen[need.value] {
                    bag.warning(.duplicateNeed, "'\(need.value)' is listed twice in needs", at: need.location,
                                note: .init("first listed here", at: first))
                } else {
                    seen[need.value] = need.location
                }
            }
            if step.kindName == "mass/delete", let c = step.condition, c.source.utf8.contains(0x53),
                c.source.contains("== 'SEND_FAIL'") || c.source.contains("=='SEND_FAIL'")
            {
                bag.warning(.deleteAfterFailure, "this delete runs only when the send failed; WeChat deletes only messages sent successfully",
                            at: c.location, hint: "condition the delete on SEND_SUCCESS (e.g. a reprint found after the send)")
            }
        }
        // Expression references and file order only point backwards: a cycle needs a `needs`
        // entry that names a later step.
        guard pointsForward else { return bag.diagnostics }
        let graph = StepGraph(pipeline)
        if let cycle = graph.findCycle() {
            let names = cycle.map { pipeline.steps[$0].id.value }
            // Report at a `needs` entry that closes the cycle: one naming a later step.
            var location = pipeline.steps[cycle[0]].id.location
            outer: for i in cycle {
                for need in pipeline.steps[i].needs ?? [] {
                    if let j = pipeline.steps.firstIndex(where: { $0.id.value == need.value }), j > i, cycle.contains(j) {
                        location = need.location
                        break outer
                    }
                }
            }
            bag.error(.cycle, "dependency cycle: " + names.reversed().joined(separator: " → ") + " (each waits for the next)", at: location,
                      hint: "a step without needs waits for every step above it; remove a needs entry to break the cycle")
        }
        return bag.diagnostics
    }
}
