import Foundation

/// The pushes WeChat sent (MASSSENDJOBFINISH), stored by the listener and read by `mass/wait`.
/// The listener needs this and nothing else of the store.
///
/// Every method is a transaction: after it returns, the change survives `kill -9`.
public protocol PushInbox: Sendable {
    /// Stores the push unless (api, originalID, msgID) is already there; `true` if it was new.
    @discardableResult
    func storeInboxEvent(_ event: InboxEvent) async throws -> Bool
    func inboxEvents(api: String, originalID: String, msgIDs: [Int64]) async throws -> [InboxEvent]
}
