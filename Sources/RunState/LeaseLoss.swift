import Foundation

/// The one rule of a fenced write, shared by the stores: the writer must still hold the lease
/// at its epoch (expired or not, as long as nobody took it over or it was not released).
public enum LeaseLoss {
    /// `nil` when `fence` still holds; else the `leaseLost` error to throw. `current` is the
    /// lease row (released or not), `store` names the store.
    public static func check(_ fence: LeaseFence, current: BroadcastLease?, released: Bool, store: String)
        -> StateStoreError?
    {
        if let current, !released, current.owner == fence.owner, current.epoch == fence.epoch { return nil }
        let now: String
        if let current, !released {
            now = "it is held by \(current.owner) at epoch \(current.epoch)"
        } else {
            now = "it was released"
        }
        return StateStoreError(
            code: .leaseLost, path: store,
            message: "lease lost: the lease of broadcast \(fence.identity.name) moved on from epoch \(fence.epoch) held by \(fence.owner) (\(now)); nothing was written",
            hint: "another masscast process took the broadcast over; this one stops without calling WeChat")
    }
}
