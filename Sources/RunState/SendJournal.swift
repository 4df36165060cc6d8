import Foundation

/// The journal of irreversible calls (sends, previews, deletes): the intent is written before
/// the call and the result after, so that a send is never made twice.
///
/// Every method is a transaction: after it returns, the change survives `kill -9`.
public protocol SendJournal: Sendable {
    /// Writes the entry (insert, or replace the one with the same api, app_id and key).
    func journal(_ entry: JournalEntry) async throws
    func journalEntry(api: String, appID: String, key: String) async throws -> JournalEntry?
    func journalEntries(runID: String) async throws -> [JournalEntry]
    /// Entries of `appID` at `api` in state `sent` whose `updatedAt` is at or after `since`,
    /// counted (one per accepted mass send call): the account's sends today as masscast
    /// knows them.
    func acceptedSends(api: String, appID: String, since: Date) async throws -> Int
}
