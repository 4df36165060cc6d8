import Foundation

/// A file a plan read, bound by its SHA-256.
public struct PlanInputFile: Sendable, Codable, Equatable, Hashable {
    /// Relative to the working directory the plan was made in (absolute when outside it).
    public var path: String
    /// `pipeline`, `config`, `audience`, `media`, `content`.
    public var role: String
    /// Hex SHA-256 of its bytes.
    public var sha256: String

    public init(path: String, role: String, sha256: String) {
        self.path = path
        self.role = role
        self.sha256 = sha256
    }
}

/// A plan written by `masscast plan --out FILE`, which `masscast apply FILE` executes
/// exactly, and refuses when what it was made from moved (``check(now:files:store:approved:)``).
public struct SavedPlan: Sendable, Equatable {
    /// A saved plan is refused this long after it was made: below the 24 h WeChat keeps a
    /// clientmsgid, so the plan's sends are still recognised as the same.
    public static let maxAge: TimeInterval = 24 * 3600

    public var document: PlanDocument

    public init(_ document: PlanDocument) { self.document = document }

    /// Reads a plan file's bytes (see ``PlanDocument/decode(_:)``).
    public init(data: Data) throws {
        document = try PlanDocument.decode(data)
    }

    /// What the state store says now, for the checks.
    public struct StoreState: Sendable, Equatable {
        /// The store's identity (`nil`: it has none, or could not be read).
        public var identity: String?
        /// Each broadcast's serial now, by broadcast name (absent: never run, serial 0).
        public var serials: [String: Int64]

        public init(identity: String?, serials: [String: Int64]) {
            self.identity = identity
            self.serials = serials
        }
    }

    /// Why a saved plan is not applied. Each kind has its own message; `apply` exits 6.
    public struct Refusal: Sendable, Equatable, CustomStringConvertible {
        public struct Code: Sendable, Hashable, CustomStringConvertible {
            public let name: String
            public init(_ name: String) { self.name = name }
            public var description: String { name }

            /// An input file changed or is gone.
            public static let stale = Code("stale")
            /// The plan was made against another state store.
            public static let otherStore = Code("other_store")
            /// The broadcast's serial moved: someone ran it meanwhile.
            public static let serialMoved = Code("serial_moved")
            /// Older than ``SavedPlan/maxAge``.
            public static let tooOld = Code("too_old")
            /// A send to all followers without a valid approval.
            public static let toAllWithoutApproval = Code("to_all_without_approval")
            /// The plan was made by a masscast whose clientmsgids may differ.
            public static let otherVersion = Code("other_version")
        }

        public var code: Code
        /// The broadcast it is about (`nil`: the whole plan).
        public var broadcast: String?
        public var message: String

        public init(_ code: Code, broadcast: String? = nil, _ message: String) {
            self.code = code
            self.broadcast = broadcast
            self.message = message
        }

        public var description: String { message }
    }

    /// The refusals of this plan; empty when it may be applied. Pure: the caller reads the
    /// files, the store and the approvals.
    /// - Parameters:
    ///   - now: the time it would be applied.
    ///   - files: every file's SHA-256 now, by the path the plan names it with (a file
    ///     missing from the map is gone).
    ///   - store: the store's identity and the broadcasts' serials now.
    ///   - approved: the broadcasts with a valid approval (one whose source digest is the
    ///     broadcast's now); a broadcast that sends to all followers needs one.
    ///   - version: the masscast applying it (its clientmsgids must be the plan's).
    public func check(
        now: Date, files: [String: String], store: StoreState, approved: Set<String> = [], version: String? = nil
    ) -> [Refusal] {
        var refusals: [Refusal] = []
        let age = now.timeIntervalSince(document.createdAt)
        if age > Self.maxAge {
            refusals.append(
                Refusal(
                    .tooOld,
                    "plan is too old: made \(Self.stamp(document.createdAt)), \(Int(age / 3600)) h ago; a saved plan is applied within 24 h (WeChat keeps a clientmsgid 24 h). Make a new plan"
                ))
        }
        if let version, version != document.masscastVersion {
            refusals.append(
                Refusal(
                    .otherVersion,
                    "plan was made by masscast \(document.masscastVersion), this is \(version): make the plan again with this version"))
        }
        for plan in document.broadcasts {
            var seen = Set<String>()
            for file in plan.inputFiles where seen.insert(file.path).inserted {
                guard let now = files[file.path] else {
                    refusals.append(Refusal(.stale, broadcast: plan.name, "plan is stale: \(file.path) is gone"))
                    continue
                }
                if now != file.sha256 {
                    refusals.append(Refusal(.stale, broadcast: plan.name, "plan is stale: \(file.path) changed"))
                }
            }
            if let planned = plan.storeIdentity, planned != store.identity {
                refusals.append(
                    Refusal(
                        .otherStore, broadcast: plan.name,
                        "plan was made against another state store (\(planned.prefix(12))…, this one is \(store.identity.map { "\($0.prefix(12))…" } ?? "without an identity")): apply it with the store it was planned with, or make a new plan"
                    ))
            }
            if let planned = plan.serial {
                let current = store.serials[plan.name] ?? 0
                if current != planned {
                    refusals.append(
                        Refusal(
                            .serialMoved, broadcast: plan.name,
                            "broadcast \(plan.name) changed in the store since the plan (serial \(planned) → \(current)): someone ran it meanwhile. Make a new plan"
                        ))
                }
            }
            let toAll = plan.audiences.contains(where: \.toAll)
            if toAll, plan.sendsPlanned > 0, !approved.contains(plan.name) {
                refusals.append(
                    Refusal(
                        .toAllWithoutApproval, broadcast: plan.name,
                        "broadcast \(plan.name) sends to ALL FOLLOWERS and has no valid approval: commit one with `masscast approve \(plan.name) --by WHO`"
                    ))
            }
        }
        return refusals
    }

    static func stamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}
