import Foundation

/// An error of a state store (SQLite or PostgreSQL): what went wrong, with which store, and what to do.
///
/// The description is one line meant for a person, such as
/// `cannot open state file .masscast/state.sqlite: permission denied; check the file's owner
/// and mode, or pass --state PATH`. It never contains a token or any other stored value.
public struct StateStoreError: Error, CustomStringConvertible, Sendable, Hashable {
    /// What kind of problem it is, for callers that react differently (exit codes, retries).
    /// Codes are extensible: new ones may be added without breaking callers, so a `switch`
    /// over them needs a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case permissionDenied, invalidPath, notADatabase, newerSchema, busy, diskFull, io, notFound, notOwner, unreadableRecord,
                unreachable, leaseLost, other
        }

        private var wrapped: Wrapped

        private init(_ wrapped: Wrapped) {
            self.wrapped = wrapped
        }

        /// The file or its directory cannot be read, written or created by this user.
        public static var permissionDenied: Self { Self(.permissionDenied) }
        /// The path names a directory, or something else that cannot hold the database.
        public static var invalidPath: Self { Self(.invalidPath) }
        /// The file is not an SQLite database, or it is damaged.
        public static var notADatabase: Self { Self(.notADatabase) }
        /// The file was written by a newer masscast: its schema is unknown to this version.
        public static var newerSchema: Self { Self(.newerSchema) }
        /// Another process kept the database locked longer than the busy timeout.
        public static var busy: Self { Self(.busy) }
        /// The disk (or a quota) is full.
        public static var diskFull: Self { Self(.diskFull) }
        /// The operating system reported an input/output error.
        public static var io: Self { Self(.io) }
        /// The run (or other record) the call names is not in the store.
        public static var notFound: Self { Self(.notFound) }
        /// The run is owned by another runner now (it was taken over).
        public static var notOwner: Self { Self(.notOwner) }
        /// A stored record cannot be read back (wrong type, unexpected value).
        public static var unreadableRecord: Self { Self(.unreadableRecord) }
        /// The database server cannot be reached, refused the login, or did not answer in time.
        public static var unreachable: Self { Self(.unreachable) }
        /// The writer's lease of the broadcast lapsed and another holder took it (its epoch
        /// moved): the write was refused and the caller must stop without calling WeChat.
        public static var leaseLost: Self { Self(.leaseLost) }
        /// Anything else the database refused (the message says what).
        public static var other: Self { Self(.other) }

        /// The code's name, e.g. `permissionDenied`.
        public var description: String {
            switch wrapped {
            case .permissionDenied: "permissionDenied"
            case .invalidPath: "invalidPath"
            case .notADatabase: "notADatabase"
            case .newerSchema: "newerSchema"
            case .busy: "busy"
            case .diskFull: "diskFull"
            case .io: "io"
            case .notFound: "notFound"
            case .notOwner: "notOwner"
            case .unreadableRecord: "unreadableRecord"
            case .unreachable: "unreachable"
            case .leaseLost: "leaseLost"
            case .other: "other"
            }
        }
    }

    /// What kind of problem it is.
    public var code: Code
    /// The store concerned: the state file as given to `SQLiteStateStore(path:)`, or a
    /// PostgreSQL URL without its password.
    public var path: String
    /// What failed and why, such as `cannot open state file X: permission denied`.
    public var message: String
    /// How to fix it, if there is something to say (`pass --state PATH`).
    public var hint: String?

    /// Creates an error; `message` says what failed and why, `hint` what to do.
    ///
    /// There is no `cause`: the database's own errors can describe a row's values (a cached
    /// token among them), so only their kind and SQLite's message, which never holds a
    /// statement's arguments, go into ``message``.
    public init(code: Code, path: String, message: String, hint: String? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.hint = hint
    }

    /// `problem; hint` on one line.
    public var description: String {
        if let hint, !hint.isEmpty { return "\(message); \(hint)" }
        return message
    }
}

