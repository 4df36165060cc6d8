extension HelpText {
    /// The discussion of `masscast plan`.
    public static let plan = """
        Each PATH is a pipeline file or a folder, searched recursively for *.yaml and *.yml \
        (masscast.yaml, *.inputs.yaml and approvals/ skipped). With no PATH, the folder \
        `pipelines` is planned. For each broadcast the plan shows every WeChat call in order \
        (endpoint, batch, clientmsgid, msgtype, a content summary, send_ignore_reprint, the \
        files read with their SHA-256), the audience (ALL FOLLOWERS, a tag, an OpenID file's \
        recipients after dedupe and its batches), the quota it uses against what the state \
        store counts today (UTC+8), the estimated duration, and warnings. Values an earlier \
        step gives (a media_id, a msg_id) are shown as (known after upload) / (known after send).

        The plan is made by the same code that runs the steps. It calls nothing: no token, no \
        upload, no send. It writes nothing: the state store is only read, and a missing one is \
        not created. Without credentials it says what it could not check; with --preflight \
        and the account's credentials it reads tag names, follower counts and the speed level \
        with read-only calls (a stable_token token, never /token; tags/get; mass/speed/get).

        Exit status: 0 planned (nothing refused); 2 a file, its config, account or a step's \
        input is invalid; 5 sends are planned (only with --detailed-exitcode); 6 a broadcast \
        is refused or blocked (over a quota). Format: docs/plan-format.md.

        Examples:
          masscast plan pipelines/
          masscast plan pipelines/text-to-tag.yaml --input tag_id=100
          masscast plan pipelines --format markdown > plan.md   # a pull-request comment
          masscast plan pipelines --format json --detailed-exitcode
          masscast plan pipelines --preflight                   # needs the accounts' secrets
          masscast plan pipelines --out plan.json && masscast show plan.json
        """
}
