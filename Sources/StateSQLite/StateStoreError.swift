import Foundation
import GRDB
import RunState

extension StateStoreError {
    static let stateFlagHint = "pass --state PATH to use another state file"

    /// Turns whatever a database access threw into a `StateStoreError` (a `CancellationError`
    /// and an existing `StateStoreError` pass through). `action` reads like
    /// `cannot save step in` and is followed by `state file <path>`.
    static func wrap(_ error: any Error, action: String, path: String) -> any Error {
        if error is StateStoreError || error is CancellationError { return error }
        let subject = "\(action) state file \(path)"
        guard let dbError = error as? DatabaseError else {
            // RowDecodingError and others describe the row's values: never include them.
            return StateStoreError(
                code: .unreadableRecord, path: path,
                message: "\(subject): a stored record cannot be read (\(String(describing: type(of: error))))",
                hint: "the file may have been edited by hand or by another program; \(stateFlagHint)")
        }
        // The SQLite message names tables and columns, never the statement's arguments.
        let sqliteMessage = dbError.message ?? "SQLite error \(dbError.extendedResultCode.rawValue)"
        switch dbError.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StateStoreError(
                code: .busy, path: path,
                message: "\(subject): the database stayed locked by another process for more than 10 s (\(sqliteMessage))",
                hint: "retry; if it persists, look for a stuck masscast process using the same file, or \(stateFlagHint)")
        case .SQLITE_PERM, .SQLITE_AUTH:
            return StateStoreError(
                code: .permissionDenied, path: path, message: "\(subject): permission denied (\(sqliteMessage))",
                hint: "check the owner and mode of the file and its directory, or \(stateFlagHint)")
        case .SQLITE_READONLY:
            return StateStoreError(
                code: .permissionDenied, path: path, message: "\(subject): the database is read-only (\(sqliteMessage))",
                hint: "masscast needs to write the file, its directory and the -wal and -shm files next to it; check their owner and mode, or \(stateFlagHint)")
        case .SQLITE_CANTOPEN:
            if dbError.extendedResultCode == .SQLITE_CANTOPEN_ISDIR {
                return StateStoreError(
                    code: .invalidPath, path: path, message: "\(subject): it is a directory",
                    hint: "give the path of a file, or \(stateFlagHint)")
            }
            return StateStoreError(
                code: .permissionDenied, path: path, message: "\(subject): unable to open the database file (\(sqliteMessage))",
                hint: "check that the directory exists and that you may write in it (SQLite also creates -wal and -shm files there), or \(stateFlagHint)")
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return StateStoreError(
                code: .notADatabase, path: path,
                message: "\(subject): the file is not a masscast state database or is damaged (\(sqliteMessage))",
                hint: "move it aside (masscast then forgets the runs it recorded) or \(stateFlagHint)")
        case .SQLITE_FULL:
            return StateStoreError(
                code: .diskFull, path: path, message: "\(subject): the disk is full (\(sqliteMessage))",
                hint: "free some space and retry, or \(stateFlagHint)")
        case .SQLITE_IOERR:
            return StateStoreError(
                code: .io, path: path, message: "\(subject): input/output error (\(sqliteMessage))",
                hint: "check the disk and the file system (a network file system cannot hold a WAL database), or \(stateFlagHint)")
        case .SQLITE_MISUSE:
            // After `close()` SQLite's own message is meaningless ("out of memory").
            return StateStoreError(
                code: .other, path: path, message: "\(subject): the store is closed",
                hint: "this is a bug in masscast (the store was used after close()); please report it")
        default:
            return StateStoreError(code: .other, path: path, message: "\(subject): \(sqliteMessage)")
        }
    }

    /// An `errno` from a system call on the state file or its directory.
    static func posix(_ code: Int32, action: String, target: String, path: String) -> StateStoreError {
        let reason = String(cString: strerror(code)).lowercased()
        switch code {
        case EACCES, EPERM, EROFS:
            return StateStoreError(
                code: .permissionDenied, path: path, message: "\(action) \(target): \(reason)",
                hint: "check the owner and mode of the file and its directory, or \(stateFlagHint)")
        case EISDIR, ENOTDIR:
            return StateStoreError(
                code: .invalidPath, path: path, message: "\(action) \(target): \(reason)",
                hint: "give the path of a file whose parent is a directory, or \(stateFlagHint)")
        case ENOSPC, EDQUOT:
            return StateStoreError(
                code: .diskFull, path: path, message: "\(action) \(target): \(reason)",
                hint: "free some space and retry, or \(stateFlagHint)")
        default:
            return StateStoreError(
                code: .io, path: path, message: "\(action) \(target): \(reason)", hint: stateFlagHint)
        }
    }
}
