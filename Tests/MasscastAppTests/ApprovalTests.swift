import Foundation
import MasscastApp
import PipelineCore
import PipelineYAML
import Testing

/// Approvals (issue 12 item 5): the config's requirement, the source digest an approval is
/// bound to, and `masscast approve`'s file.
@Suite("Approvals")
struct ApprovalTests {
    static let pipeline = """
        version: 1
        name: spring
        account: brand-main
        inputs:
          tag_id: {type: integer, default: 100}
        steps:
          - id: send
            uses: mass/sendall
            with:
              filter: {is_to_all: false, tag_id: "${{ inputs.tag_id }}"}
              msgtype: text
              text: {content_file: spring.txt}

        """

    @Test("approvals: in masscast.yaml is read and checked; what each broadcast needs")
    func settings() {
        let (config, diagnostics) = ProjectConfigLoader().load(
            text: "version: 1\napprovals: { to_all: 2, over_recipients: 50000 }\n", file: "masscast.yaml")
        #expect(diagnostics.isEmpty)
        let approvals = config?.approvals
        #expect(approvals == ApprovalSettings(toAll: 2, overRecipients: 50000))
        #expect(approvals?.required(toAll: true, recipients: nil) == 2)
        #expect(approvals?.required(toAll: false, recipients: 50000) == 0)
        #expect(approvals?.required(toAll: false, recipients: 50001) == 2)
        #expect(ApprovalSettings(toAll: 0, overRecipients: 10).required(toAll: false, recipients: 11) == 1)
        let bad = ProjectConfigLoader().load(text: "version: 1\napprovals: { to_all: -1, over_all: 3 }\n", file: "m.yaml")
        #expect(bad.diagnostics.map(\.code.rawValue).sorted() == ["MC2001", "MC2008"], "\(bad.diagnostics)")
    }

    @Test("the source digest moves with the pipeline, its inputs file and the files it reads; approve writes and adds approvers; an edit voids them")
    func digestAndApprove() throws {
        let ws = try Workspace()
        defer { try? FileManager.default.removeItem(at: ws.root) }
        try ws.write("masscast.yaml", "version: 1\naccounts:\n  brand-main: {app_id: wx8a3f2c71d905be46, app_secret: \"${{ env.S }}\", kind: service}\napprovals: {to_all: 1}\n")
        let file = try ws.write("pipelines/spring.yaml", Self.pipeline)
        try ws.write("pipelines/spring.txt", "Spring sale")
        func digest() throws -> String {
            ApprovalFile.sourceDigest(of: try #require(PipelineLoader().load(path: file).pipeline), file: file)
        }
        let first = try digest()
        #expect(try digest() == first)
        try ws.write("pipelines/spring.txt", "Spring sale!")
        let edited = try digest()
        #expect(edited != first)
        try ws.write("pipelines/spring.inputs.yaml", "tag_id: 101\n")
        #expect(try digest() != edited)

        let (path, written) = try Approve.run(
            name: "spring", by: "alice", paths: ["pipelines"], config: nil, environment: ws.environment,
            now: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(path == ws.root.appendingPathComponent("approvals/spring.yaml").path)
        let read = try #require(try ApprovalFile.load(path))
        #expect(read == written)
        #expect(read.approvers(for: try digest()) == ["alice"])
        _ = try Approve.run(name: "spring", by: "bob", paths: ["pipelines"], config: nil, environment: ws.environment)
        #expect(try ApprovalFile.load(path)?.approvers(for: try digest()) == ["alice", "bob"])

        try ws.write("pipelines/spring.txt", "Summer sale")
        #expect(try ApprovalFile.load(path)?.approvers(for: try digest()) == [])
        _ = try Approve.run(name: "spring", by: "carol", paths: ["pipelines"], config: nil, environment: ws.environment)
        #expect(try ApprovalFile.load(path)?.approvers(for: try digest()) == ["carol"], "approvals of the old source are dropped")

        #expect(throws: SetupError.self) {
            try Approve.run(name: "autumn", by: "alice", paths: ["pipelines"], config: nil, environment: ws.environment)
        }
    }
}
