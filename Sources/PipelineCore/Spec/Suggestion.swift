/// "Did you mean" suggestions: the one edit distance and the one rule for when a name is near
/// enough to be a typo, used by every "did you mean" masscast prints (pipelines, expressions,
/// `masscast.yaml`, sandbox fixtures, CSV audience columns).
public enum Suggestion {
    /// The candidate nearest to `word`, if it is near enough to be a typo.
    ///
    /// Case is ignored (a case-only difference is the nearest possible); a candidate equal to
    /// `word` is never suggested. Near enough: an edit distance of at most 1 for words of up
    /// to 5 characters, 2 for 6, and 3 from 7 on (`max(1, min(3, n / 3 + (n > 5 ? 1 : 0)))`).
    /// Ties go to the earliest candidate, so callers with an unordered set sort it first.
    public static func closest(to word: String, among candidates: some Sequence<String>) -> String? {
        let limit = maxDistance(for: word)
        let lowered = word.lowercased()
        let length = lowered.count
        var best: (candidate: String, distance: Int)?
        for candidate in candidates where candidate != word {
            let other = candidate.lowercased()
            guard abs(other.count - length) <= limit else { continue }
            let d = editDistance(lowered, other)
            if d <= limit, best == nil || d < best!.distance { best = (candidate, d) }
        }
        return best?.candidate
    }

    /// The largest edit distance at which a candidate is suggested for `word`.
    public static func maxDistance(for word: String) -> Int {
        max(1, min(3, word.count / 3 + (word.count > 5 ? 1 : 0)))
    }

    /// Edit distance over characters: insertions, deletions, substitutions and transpositions
    /// of neighbours each count 1 (optimal string alignment).
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var prev2 = [Int](repeating: 0, count: y.count + 1)
        var prev = Array(0...y.count)
        var cur = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            cur[0] = i
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    cur[j] = min(cur[j], prev2[j - 2] + 1)
                }
            }
            (prev2, prev, cur) = (prev, cur, prev2)
        }
        return prev[y.count]
    }
}
