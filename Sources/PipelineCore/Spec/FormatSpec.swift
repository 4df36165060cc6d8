/// The shape of a pipeline file outside the steps' `with` (which the catalog describes).
public enum FormatSpec {
    public static let inputTypes = ["string", "integer", "boolean", "list"]

    public static let input = ObjectSpec([
        Field("type", .enumeration(inputTypes), required: true, doc: "The input's type"),
        Field("default", .any, doc: "Used when --input does not set it; of the declared type"),
        Field("description", .string(), doc: "Shown by plan and in docs"),
        Field("required", .boolean, doc: "The run needs --input name=value"),
    ])

    public static let retry = ObjectSpec([
        Field("max_attempts", .integer(min: 1, max: 100), doc: "Total attempts; 1 = no retry (default 3)"),
        Field("initial_delay", .duration, doc: "First wait (default 1s)"),
        Field("factor", .number(min: 1), doc: "Growth of each wait (default 2)"),
        Field("max_delay", .duration, doc: "Cap on a single wait (default 1m)"),
        Field("jitter", .enumeration(["full", "equal", "none"]), doc: "Randomisation of waits (default full)"),
        Field("deadline", .duration, doc: "Budget for all attempts and waits of the step"),
        Field("classes", .list(.enumeration(["transient", "rate_limit"])),
              doc: "Error classes that are retried (default [transient, rate_limit])"),
        Field("errcodes", .list(.integer()), doc: "Extra WeChat errcodes treated as retryable"),
    ])

    public static let account = ObjectSpec([
        Field("app_id", .string(.nonEmpty), required: true, expression: true, doc: "The account's AppID"),
        Field("app_secret", .string(.secretReference), required: true, expression: true,
              doc: "An expression over secrets. or env.; never a literal"),
        Field("kind", .enumeration(AccountKind.allCases.map(\.rawValue)), doc: "Account kind (default service)"),
        Field("api_base", .string(.url), doc: "API base URL (default https://api.weixin.qq.com)"),
        Field("original_id", .string(.nonEmpty), doc: "The account's original id gh_…, to route pushes"),
    ])

    public static let accountField: FieldType = .either([.string(.accountName), .object(account)])

    public static let step = ObjectSpec([
        Field("id", .string(.stepID), required: true, doc: "Unique id; referenced as steps.<id>"),
        Field("uses", .string(.nonEmpty), required: true, doc: "The step kind"),
        Field("with", .deferred, doc: "The step's inputs; mirror the WeChat request body"),
        Field("needs", .list(.string(.stepID)), doc: "Steps this one waits for; [] waits for none"),
        Field("if", .deferred, doc: "A boolean expression; ${{ }} may be omitted"),
        Field("timeout", .duration, doc: "Bound on one API call attempt"),
        Field("retry", .object(retry), doc: "Overrides fields of defaults.retry"),
        Field("continue_on_error", .boolean, doc: "A failure of this step does not fail the pipeline"),
    ])

    public static let pipeline = ObjectSpec([
        Field("version", .constant(1), required: true, doc: "Format version: 1"),
        Field("name", .string(.pipelineName), required: true, doc: "The broadcast's name, unique in the repository"),
        Field("description", .string(), doc: "Free text"),
        Field("account", .deferred, required: true, doc: "A name from masscast.yaml, or an inline mapping"),
        Field("inputs", .map(key: .inputName, value: .object(input)), doc: "Inputs set with --input name=value"),
        Field("schedule", .object(ObjectSpec([
            Field("not_before", .string(.timestamp), doc: "RFC 3339 with offset; no send before"),
            Field("not_after", .string(.timestamp), doc: "RFC 3339 with offset; no send after"),
        ])), doc: "Optional sending window"),
        Field("defaults", .object(ObjectSpec([
            Field("timeout", .duration, doc: "Default per-attempt timeout"),
            Field("retry", .object(retry), doc: "Default retry policy"),
        ])), doc: "Applied to every step"),
        Field("steps", .list(.object(step), min: 1), required: true, doc: "The steps, in an order that can run"),
        Field(
            "apply", .enumeration(ApplyMode.allCases.map(\.rawValue)),
            doc: "auto (default): masscast apply reconciles it; manual: only masscast run runs it"),
    ])
}
