import PipelineCore
import PipelineYAML
import Testing

@Suite("Pipeline decoding")
struct PipelineDecoderTests {
    static let full = """
        version: 1
        name: autumn-video-launch
        description: Autumn launch
        account: brand-main
        inputs:
          tag_id: { type: integer, default: 100, description: Audience tag }
          dry: { type: boolean, default: false }
        schedule:
          not_before: "2026-12-01T09:00:00+08:00"
          not_after: "2026-12-01T21:00:00+08:00"
        defaults:
          timeout: 20s
          retry: { max_attempts: 5, initial_delay: 2s, factor: 3, max_delay: 1m, jitter: equal }
        steps:
          - id: send
            uses: mass/sendall
            timeout: 1m
            retry: { max_attempts: 1 }
            with:
              filter:
                is_to_all: false
                tag_id: ${{ inputs.tag_id }}
              msgtype: text
              text: { content: "秋季新品 #上新#" }
          - id: check
            uses: mass/get
            continue_on_error: true
            if: steps.send.outputs.msg_id != null
            with:
              msg_id: ${{ steps.send.outputs.msg_id }}
        """

    @Test("a full pipeline decodes with its values, defaults merged into steps")
    func decodesValues() throws {
        let loaded = load(Self.full)
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        let p = try #require(loaded.pipeline)
        #expect(p.name.value == "autumn-video-launch")
        #expect(p.inputs.map(\.name) == ["tag_id", "dry"])
        #expect(p.inputs[0].defaultValue == .integer(100))
        #expect(p.schedule?.notBeforeEpoch == 1_796_086_800)  // 2026-12-01T01:00:00Z
        #expect(p.defaults.timeout == .seconds(20))
        let send = try #require(p.step("send"))
        #expect(send.timeout == .seconds(60))
        #expect(send.retry.maxAttempts == 1)  // the step's field
        #expect(send.retry.initialDelay == .seconds(2))  // the rest from defaults
        #expect(send.retry.jitter == .equal)
        let check = try #require(p.step("check"))
        #expect(check.continueOnError)
        #expect(check.timeout == .seconds(20))
        #expect(check.condition?.usesStatusFunction == false)
        #expect(check.references.map(\.value) == ["send", "send"])
    }

    @Test("all problems of a file are reported, in file order")
    func reportsAll() {
        let text = """
            version: 1
            name: Bad Name
            account: brand-main
            retires: 3
            steps:
              - id: 1st
                uses: mass/sendal
            """
        #expect(codes(text) == ["MC2004", "MC2001", "MC2005", "MC2011"])
    }

    @Test("unknown keys get a did-you-mean for near misses")
    func didYouMean() throws {
        let d = try #require(load(pipeline("""
              - id: a
                uses: mass/get
                wiht: { msg_id: 1 }
            """)).diagnostics.first { $0.code == .unknownKey })
        #expect(d.hint == "did you mean 'with'?")
    }

    @Test("missing required keys are named")
    func missingKeys() {
        let diagnostics = load("version: 1\nsteps: []\n").diagnostics
        #expect(diagnostics.map(\.code.rawValue).sorted() == ["MC2003", "MC2003", "MC2023"])
        #expect(diagnostics.contains { $0.message.contains("'name'") })
        #expect(diagnostics.contains { $0.message.contains("'account'") })
    }

    @Test("an audience is never implied: is_to_all false needs a tag, and is_to_all must be a literal")
    func audience() {
        #expect(codes(pipeline("""
              - id: s
                uses: mass/sendall
                with: { filter: { is_to_all: false }, msgtype: text, text: { content: hi } }
            """)) == ["MC2003"])
        #expect(codes(pipeline("""
              - id: s
                uses: mass/sendall
                with:
                  filter: { is_to_all: "${{ inputs.all }}", tag_id: 1 }
                  msgtype: text
                  text: { content: hi }
            """, inputs: "inputs: { all: { type: boolean } }")) == ["MC2022"])
    }

    @Test("msgtype and payload agree; image sends use images")
    func payloads() {
        #expect(codes(pipeline("""
              - id: s
                uses: mass/sendall
                with:
                  filter: { is_to_all: true }
                  msgtype: mpnews
                  text: { content: hi }
            """)) == ["MC2028", "MC2014", "MC2015"])
        #expect(codes(pipeline("""
              - id: s
                uses: mass/sendall
                with:
                  filter: { is_to_all: true }
                  msgtype: image
                  images: { media_ids: [a, b] }
            """)) == ["MC2028"])
    }

    @Test("ranges: speed 0–4, 1–8 articles, 2–10,000 OpenIDs, article_idx ≥ 0")
    func ranges() {
        #expect(codes(pipeline("  - { id: s, uses: mass/speed, with: { speed: 5 } }")) == ["MC2008"])
        #expect(codes(pipeline("  - { id: d, uses: mass/delete, with: { msg_id: 1, article_idx: -1 } }")) == ["MC2008"])
        #expect(codes(pipeline("""
              - id: s
                uses: mass/send
                with: { touser: [oABCDEF123456], msgtype: text, text: { content: hi } }
            """)) == ["MC2017"])
        let article = "{ title: t, thumb_media_id: m, content: c }"
        let nine = Array(repeating: article, count: 9).joined(separator: ", ")
        #expect(codes(pipeline("  - { id: n, uses: media/uploadnews, with: { articles: [\(nine)] } }")) == ["MC2017"])
    }

    @Test("a literal app_secret is refused; an expression over secrets is fine")
    func literalSecret() {
        let inline = { (secret: String) in
            """
            version: 1
            name: x
            account:
              app_id: wx0123456789abcdef
              app_secret: \(secret)
            steps:
              - { id: s, uses: mass/speed }
            """
        }
        #expect(codes(inline("0123456789abcdef0123456789abcdef")) == ["MC2019"])
        #expect(codes(inline("${{ secrets.APP_SECRET }}")).isEmpty)
        #expect(codes(inline("${{ env.WX_SECRET }}")).isEmpty)
    }

    @Test("secrets never flow into message content")
    func secretsInContent() {
        #expect(codes(pipeline("""
              - id: s
                uses: mass/sendall
                with:
                  filter: { is_to_all: true }
                  msgtype: text
                  text:
                    content: token ${{ secrets.APP_SECRET }}
            """)) == ["MC2028", "MC3009"])
    }

    @Test("schedule windows need offsets and must not be inverted")
    func schedule() {
        let window = { (a: String, b: String) in
            pipeline("  - { id: s, uses: mass/speed }").replacingOccurrences(
                of: "steps:", with: "schedule: { not_before: \"\(a)\", not_after: \"\(b)\" }\nsteps:")
        }
        #expect(codes(window("2026-12-01T09:00:00", "2026-12-01T21:00:00+08:00")) == ["MC2020"])
        #expect(codes(window("2026-12-01T21:00:00+08:00", "2026-12-01T09:00:00+08:00")) == ["MC2021"])
        #expect(codes(window("2026-12-01T09:00:00Z", "2026-12-01T21:00:00+08:00")).isEmpty)
    }

    @Test("expression errors point at the character inside the expression")
    func expressionPositions() throws {
        let loaded = load(pipeline("""
              - id: g
                uses: mass/get
                with:
                  msg_id: ${{ inputs.msgid }}
            """, inputs: "inputs: { msg_id: { type: integer } }"))
        let d = try #require(loaded.diagnostics.first)
        #expect(d.code == .unknownName)
        #expect(d.location?.line == 9)
        #expect(d.location?.column == 26)  // the 'm' of msgid
        #expect(d.hint?.contains("msg_id") == true)
    }

    @Test("if must be boolean; status functions belong in if")
    func conditions() {
        #expect(codes(pipeline("  - { id: g, uses: mass/speed, if: \"${{ pipeline.name }}\" }")) == ["MC3006"])
        #expect(codes(pipeline("  - { id: g, uses: mass/speed, if: \"always()\" }")).isEmpty)
        #expect(codes(pipeline("  - { id: g, uses: mass/speed, if: true }")).isEmpty)
        #expect(codes(pipeline("  - { id: g, uses: mass/get, with: { msg_id: \"${{ success() }}\" } }")).contains("MC3008"))
    }

    @Test("a user-set clientmsgid is refused")
    func clientMsgID() {
        #expect(codes(pipeline("""
              - id: s
                uses: mass/sendall
                with: { clientmsgid: k1, filter: { is_to_all: true }, msgtype: text, text: { content: hi } }
            """)) == ["MC2018", "MC2028"])
    }

    @Test("message copy cut short by ' #' gets a warning")
    func truncation() throws {
        let loaded = load(pipeline("""
              - id: s
                uses: mass/sendall
                with:
                  filter: { is_to_all: true }
                  msgtype: text
                  text:
                    content: 新品上线 #话题#
            """))
        // The send to all followers is warned about first (MC2028, earlier in the file).
        #expect(loaded.diagnostics.map(\.code.rawValue) == ["MC2028", "MC1009"])
        let d = try #require(loaded.diagnostics.last)
        #expect(d.severity == .warning && d.code == .truncatedByComment)
        #expect(!loaded.hasErrors)
    }

    @Test("a send to ALL followers is warned about at is_to_all, with the account limits and the flag to confirm it")
    func sendToAllWarning() throws {
        let loaded = load(pipeline("""
              - id: launch
                uses: mass/sendall
                with:
                  filter:
                    is_to_all: true
                  msgtype: text
                  text: { content: hi }
            """))
        #expect(!loaded.hasErrors)
        let d = try #require(loaded.diagnostics.first)
        #expect(loaded.diagnostics.count == 1)
        #expect(d.code == .sendToAllFollowers && d.code.rawValue == "MC2028" && d.severity == .warning)
        #expect(d.location?.line == 10 && d.location?.column == 9, "\(String(describing: d.location))")
        #expect(d.message.contains("'launch'") && d.message.contains("ALL followers") && d.message.contains("cannot be undone"))
        let hint = try #require(d.hint)
        #expect(hint.contains("service account may send to all followers 4 times a month"), "\(hint)")
        #expect(hint.contains("subscription account once a day"), "\(hint)")
        #expect(hint.contains("--confirm-to-all test-broadcast"), "\(hint)")
        // An inline account's kind is known: the hint names its own limit.
        let subscription = load(pipeline("""
              - { id: s, uses: mass/sendall, with: { filter: { is_to_all: true }, msgtype: text, text: { content: hi } } }
            """).replacingOccurrences(of: "account: brand-main", with: """
            account:
              app_id: wx0123456789abcdef
              app_secret: ${{ env.WX_SECRET }}
              kind: subscription
            """))
        let subscriptionHint = try #require(subscription.diagnostics.first { $0.code == .sendToAllFollowers }?.hint)
        #expect(subscriptionHint.hasPrefix("a subscription account may make one mass send a day"), "\(subscriptionHint)")
        #expect(!subscriptionHint.contains("service"), "\(subscriptionHint)")
        // A send to a tag is not warned about.
        #expect(codes(pipeline("""
              - id: s
                uses: mass/sendall
                with: { filter: { is_to_all: false, tag_id: 100 }, msgtype: text, text: { content: hi } }
            """)).isEmpty)
    }

    @Test("mass/wait min_sent: a count ≥ 1 or a percentage in (0, 100]; never with source: poll (MC2027 at the key)")
    func minSent() throws {
        let wait = { (extra: String) in
            pipeline("  - { id: w, uses: mass/wait, with: { msg_id: 1000000001\(extra) } }")
        }
        for ok in [", min_sent: 1", ", min_sent: 1000", ", min_sent: \"90%\"", ", min_sent: 90%", ", min_sent: \"99.5%\"", ", min_sent: \"100%\"",
                   ", min_sent: \"0.5%\"", ", source: callback, min_sent: 10", ", source: auto, min_sent: \"50%\""] {
            #expect(codes(wait(ok)).isEmpty, "\(ok)")
        }
        #expect(codes(wait(", min_sent: 0")) == ["MC2008"])
        #expect(codes(wait(", min_sent: \"0%\"")) == ["MC2022"])
        #expect(codes(wait(", min_sent: \"101%\"")) == ["MC2022"])
        #expect(codes(wait(", min_sent: \"90\"")) == ["MC2022"])
        #expect(codes(wait(", min_sent: 0.9")) == ["MC2002"])
        #expect(codes(wait(", min_sent: \"${{ inputs.x }}\"")) == ["MC2022"])
        let loaded = load(wait(", source: poll, min_sent: 1000"))
        let d = try #require(loaded.diagnostics.first)
        #expect(loaded.diagnostics.count == 1)
        #expect(d.code == .minSentWithoutCounts && d.code.rawValue == "MC2027" && d.severity == .error)
        #expect(d.location?.line == 6 && d.location?.column == 73, "\(String(describing: d.location))")
        #expect(d.message.contains("source: poll") && d.message.contains("push"))
    }

    @Test("percentages and thresholds: what min_sent requires of a total")
    func thresholds() {
        #expect(Percentage.parse("90%") == 90 && Percentage.parse("99.5%") == 99.5 && Percentage.parse("100%") == 100)
        for bad in ["0%", "0.0%", "100.1%", "101%", "90", "%", "-5%", "05%", " 90%", "90 %", "9.%", ".5%"] {
            #expect(Percentage.parse(bad) == nil, "\(bad)")
        }
        #expect(DeliveryThreshold(.string("90%"))?.required(total: 30_000) == 27_000)
        #expect(DeliveryThreshold(.string("99.5%"))?.required(total: 150) == 150)
        #expect(DeliveryThreshold(.string("1%"))?.required(total: 150) == 2)
        #expect(DeliveryThreshold(.integer(1000))?.required(total: 150) == 1000)
        #expect(DeliveryThreshold(.integer(0)) == nil && DeliveryThreshold(.string("x")) == nil)
    }
}
