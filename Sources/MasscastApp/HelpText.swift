/// The long help of each command (`masscast help COMMAND`, `--help`): what a command does,
/// its exit status and examples, as printed.
public enum HelpText {
    /// The discussion of `masscast`.
    public static let masscast = """
        Broadcasts are YAML pipelines kept in git. masscast validates them with exact \
        file:line:column errors, draws their step graph, and prints the JSON Schema that editors \
        use.
        """

    /// The discussion of `masscast init`.
    public static let initialize = """
        The project id goes into every clientmsgid and into the identity of every broadcast in the state store, so that two repositories sending to the same account never share keys: a broadcast of one can never be taken for the other's. It is random, written once, committed, and never changed (a new id makes every broadcast a new one).

        Without masscast.yaml, init writes one (version, project, state path, an example account in comments). With a masscast.yaml that has no project id, init adds one after its `version:` line and leaves the rest of the file as it is. A masscast.yaml that already has one is left alone. Either way `.masscast/` (the state store: journal, token cache) is added to .gitignore. A masscast.yaml or .gitignore that is a symbolic link, a FIFO or anything but a regular file is refused before anything is written (exit 2): init never reads or writes through a link, which could lead out of the repository.

        Examples:
          masscast init
          masscast init --dir deploy
          masscast init --print-project-id
        """

    /// The discussion of `masscast validate`.
    public static let validate = """
        Each PATH is a pipeline file or a folder, searched recursively for *.yaml and *.yml \
        (hidden folders skipped). With no PATH, the folder `pipelines` is checked. All problems \
        of every file are reported, not only the first. A broadcast's name must be unique among \
        the files checked together (MC2025).

        A pipeline's `account: NAME` must be an account of the project config: the file given \
        with --config, or else the masscast.yaml found from the pipeline's folder upward, up to \
        the repository root (the folder holding .git). The config is checked too, its problems \
        reported like a pipeline's. Without a config, account names are not checked. A file \
        named masscast.yaml among the PATHs is checked as a config.

        The files a pipeline will read are checked too (MC2030–MC2036): file, content_file and \
        touser_file must be regular files inside the repository (a FIFO or a device is refused \
        unopened), media must match their type by their first bytes and size, a CSV audience \
        must have its touser_column, and the first 1,000 lines of an audience must hold \
        well-formed OpenIDs (--deep: the whole file, with its recipient count as a note). A \
        path written as an expression is not checked.

        Exit status: 0 when no file has an error (warnings allowed), 2 when any has.

        Examples:
          masscast validate pipelines/
          masscast validate broadcast.yaml --format json
          masscast validate pipelines --format github     # annotations in GitHub Actions
          masscast validate pipelines --config deploy/masscast.yaml
          masscast validate pipelines --deep                # read audience files whole
        """

    /// The discussion of `masscast graph`.
    public static let graph = """
        Edges show what each step waits for (needs, references in expressions, and file order \
        for steps without needs), with implied edges removed. An edge into a step with `if` is \
        labelled with the condition. Sends are drawn with a double border and say who gets \
        what (`mpnews → tag 100`, `text → ALL FOLLOWERS`, `image → vip-openids.txt`); \
        continue_on_error steps are dashed. A legend explains the shapes used.

        Given a folder, every pipeline under it (*.yaml, *.yml, recursively; masscast.yaml \
        excepted) is drawn in one picture, one subgraph each.

        Examples:
          masscast graph pipelines/video-to-tag.yaml                 # Mermaid, for Markdown
          masscast graph pipelines/video-to-tag.yaml --format dot | dot -Tsvg > graph.svg
          masscast graph pipelines/ --format dot | dot -Tsvg > all.svg

        An invalid pipeline is not drawn: its errors are printed and the exit status is 2.
        """

    /// The discussion of `masscast schema`.
    public static let schema = """
        Editors use it for completion and checks: with yaml-language-server, put this line at \
        the top of a pipeline:

          # yaml-language-server: $schema=../schemas/pipeline.schema.json

        The copy in schemas/pipeline.schema.json is this output.
        """

    /// The discussion of `masscast run`.
    public static let run = """
        Every send carries a deterministic clientmsgid (project, account, name, inputs, step, batch, \
        generation) and is journaled before and after the call, so a retry, a resumed run or a \
        second run of the same broadcast never sends twice. A broadcast the state store shows as \
        completed is not run again (exit 0) unless --rerun.

        Running the same broadcast again converges it: when its current generation has a run that \
        stopped, failed or lost its runner (a CI retry after Ctrl-C, a killed job), that run is \
        continued. Steps that succeeded keep their results (temporary media older than WeChat's 3 \
        days is uploaded again); the others run again, and sends are recognised by the journal.

        --rerun sends the broadcast AGAIN, to its whole audience, as a new generation. It is refused \
        while a send's outcome is unknown.

        A send to ALL followers (filter.is_to_all: true) cannot be undone: the run is refused before \
        it starts (exit 2) unless --confirm-to-all names the pipeline's name. A --sandbox rehearsal \
        runs without it, with a warning.

        --sandbox runs against the built-in WeChat sandbox, in this process, with its default \
        fixture (or --fixture), a temporary state store (unless --state), and the schedule window \
        not enforced (a rehearsal happens before the window). A rehearsal's journal, pushes and \
        quota are kept apart from the real API's, even in the same state file. Its sandbox ends with \
        its process, so an unfinished rehearsal of another process is not continued: it is \
        rehearsed again from the start.

        Exit status: 0 success or nothing to do; 1 the run failed; 2 invalid input; 3 stopped and \
        resumable (Ctrl-C, SIGTERM, an outcome that is unknown): run it again, or `masscast resume \
        RUN_ID`; 4 not run: outside the schedule window.

        Examples:
          masscast run pipelines/video-to-tag.yaml --sandbox
          masscast run pipelines/text-to-tag.yaml --input tag_id=101 --report run.json
          masscast run pipelines/text-to-tag.yaml --rerun      # SENDS AGAIN: a new generation
          masscast run launch.yaml --confirm-to-all autumn-launch   # a send to ALL followers
        """

    /// The discussion of `masscast resume`.
    public static let resume = """
        Finished steps keep their results; the others run. A send the journal shows as sent is \
        adopted, not repeated; a send whose outcome is unknown is repeated with the same \
        clientmsgid (WeChat answers 45065 if it went out), unless its first attempt is over 23 \
        hours old: then only with --confirm-resend.

        Examples:
          masscast resume r20261129-070001-k3x9qa
          masscast resume r20261129-070001-k3x9qa --confirm-resend
        """

    /// The discussion of `masscast runs show`.
    public static let runsShow = """
        Examples:
          masscast runs show r20261129-070001-k3x9qa
          masscast runs show r20261129-070001-k3x9qa --format mermaid > run.mmd   # a Gantt chart
        """

    /// The discussion of `masscast sandbox`.
    public static let sandbox = """
        Serves /cgi-bin/token, /cgi-bin/stable_token, message/mass/* and media/* as WeChat does \
        (checks, errcodes, quotas, clientmsgid rules), progresses mass jobs and pushes \
        MASSSENDJOBFINISH to each account's callback URL. Inspect it with GET /sandbox/sends, \
        /sandbox/jobs, /sandbox/pushes; inject faults with POST /sandbox/faults.

        Examples:
          masscast sandbox                          # default fixture on 127.0.0.1:8085
          masscast sandbox --port 9000 --fixture my-accounts.yaml

        Point a client at it: base URL http://127.0.0.1:8085 instead of \
        https://api.weixin.qq.com. Stop with Ctrl-C (graceful).
        """

    /// The discussion of `masscast listen`.
    public static let listen = """
        Serves GET/POST <path> and <path>/<account> (URL verification and pushes in plain, \
        compatible and safe mode), GET /healthz and GET /metrics (Prometheus). Every push is \
        checked (signature or msg_signature, timestamp window, no repeated timestamp and nonce, \
        AppID), MASSSENDJOBFINISH is stored before the answer `success`, and a repeat is stored \
        once. See docs/listen.md.

        Accounts come from masscast.yaml (--config, or found from the current folder upward): \
        every account with an original_id and callback settings (its own `callback:`, else the \
        project-wide one). Or, for one account without a config: --account-original-id and \
        --app-id, with the token and keys in the environment variables MASSCAST_CALLBACK_TOKEN, \
        MASSCAST_CALLBACK_AES_KEY and MASSCAST_CALLBACK_PREVIOUS_AES_KEY.

        Examples:
          masscast listen                                   # accounts of masscast.yaml, 127.0.0.1:8081
          masscast listen --host 0.0.0.0 --port 8081 --log-format json
          MASSCAST_CALLBACK_TOKEN=… masscast listen --account-original-id gh_5d1c0e8f7a93 --app-id wx8a3f2c71d905be46

        Put it behind a TLS reverse proxy and set the account's server URL (服务器配置) to \
        https://your.host/wechat/callback/<account>. Stop with Ctrl-C or SIGTERM (graceful).
        """
}
