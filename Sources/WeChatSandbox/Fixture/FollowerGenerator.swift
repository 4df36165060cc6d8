import Foundation

/// Makes an account's followers and tag memberships from seeds, the same on every load.
public enum FollowerGenerator {
    /// `count` distinct OpenIDs of 28 characters starting with `prefix` (6 characters),
    /// none of them in `excluding`.
    public static func openIDs(count: Int, seed: UInt64, prefix: String, excluding: Set<String> = []) -> [String] {
        var rng = SplitMix64(seed: seed ^ 0x6F70_656E_6964)
        var seen = excluding
        var out: [String] = []
        out.reserveCapacity(count)
        let tail = max(0, 28 - prefix.utf8.count)
        while out.count < count {
            let id = prefix + rng.token(tail)
            if seen.insert(id).inserted { out.append(id) }
        }
        return out
    }

    /// The members of a tag that holds about `fraction` of `followers`, drawn independently
    /// for each follower from `seed` and the tag id.
    public static func members(of followers: [String], fraction: Double, seed: UInt64, tagID: Int) -> [String] {
        guard fraction > 0 else { return [] }
        if fraction >= 1 { return followers }
        var rng = SplitMix64(seed: seed ^ (UInt64(bitPattern: Int64(tagID)) &* 0x9E37_79B9_7F4A_7C15) ^ 0x7461_6773)
        return followers.filter { _ in rng.nextUnit() < fraction }
    }

    /// The default OpenID prefix of an AppID: `o` and five characters derived from it.
    public static func openIDPrefix(for appID: String) -> String {
        var rng = SplitMix64(seed: stableHash(appID))
        return "o" + rng.token(5)
    }

    /// The default original id of an AppID: `gh_` and 12 hex digits derived from it.
    public static func originalID(for appID: String) -> String {
        var rng = SplitMix64(seed: stableHash(appID) ^ 0x6768)
        return "gh_" + rng.hex(12)
    }
}
