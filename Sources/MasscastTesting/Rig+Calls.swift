import WeChatSandbox

extension Rig {
    /// Every `/cgi-bin/` call the rig's sandbox received, in order (its `GET /sandbox/calls`).
    public func calls() async -> [SandboxCallRecord] { await sandbox.engine.calls() }

    /// The calls that changed something or could have (sends, previews, deletes, uploads,
    /// `speed/set`, the classic `/token`, a forced `stable_token`): what a plan or a
    /// preflight must never make. Empty when every call was read-only.
    public func mutatingCalls() async -> [SandboxCallRecord] { await calls().filter { !$0.readOnly } }
}
