/// Sends to every follower of the account (`mass/sendall` with `filter.is_to_all: true`):
/// irreversible and scarce (a service account has 4 a month, a subscription account 1 a
/// day), so `validate` warns about each one (MC2028) and `masscast run` needs the intent
/// confirmed with `--confirm-to-all NAME`, NAME being the pipeline's `name`.
public enum SendToAll {
    /// The account limits, from docs/reference/wechat-mass-api.md: the kind's own when it is
    /// known here (an inline account), else both.
    public static func limits(_ kind: AccountKind?) -> String {
        switch kind {
        case .service?: "a service account may send to all followers 4 times a month"
        case .subscription?: "a subscription account may make one mass send a day"
        case nil: "a service account may send to all followers 4 times a month, a subscription account once a day"
        }
    }

    /// MC2028 for every step that sends to all followers, at its `is_to_all` key.
    public static func warnings(_ steps: [Step], pipelineName: String, account: AccountReference) -> [Diagnostic] {
        var kind: AccountKind?
        if case .inline(let inline) = account { kind = inline.kind }
        let limits = limits(kind)
        return steps.compactMap { step in
            guard let location = step.toAllLocation else { return nil }
            let name = pipelineName.isEmpty ? "NAME" : pipelineName
            return .warning(
                .sendToAllFollowers,
                "step '\(step.id.value)' sends to ALL followers of the account; a mass send cannot be undone",
                at: location,
                hint: "\(limits); masscast run sends it only with --confirm-to-all \(name)")
        }
    }
}

extension Step {
    /// Whether this step is a `mass/sendall` to every follower (`filter.is_to_all: true`,
    /// always a literal: the audience never comes from an expression).
    public var sendsToAllFollowers: Bool { toAllLocation != nil }

    /// Where `is_to_all: true` is written, for a send to all followers.
    public var toAllLocation: SourceLocation? {
        guard kindName == "mass/sendall",
            let entry = with?["filter"]?.entries?.first(where: { $0.key == "is_to_all" }),
            case .bool(true)? = entry.value.typed
        else { return nil }
        return entry.keyLocation
    }
}
