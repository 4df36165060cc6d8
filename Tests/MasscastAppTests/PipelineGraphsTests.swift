import Foundation
import MasscastApp
import PipelineCore
import Testing

/// `masscast graph`'s loading: a graph per pipeline, or one error saying why nothing is drawn.
@Suite("Pipeline graphs")
struct PipelineGraphsTests {
    static let valid = """
        version: 1
        name: check-status
        account:
          app_id: wx8a3f2c71d905be46
          app_secret: ${{ secrets.APP_SECRET }}
          kind: service
        steps:
          - id: status
            uses: mass/get
            with:
              msg_id: 1000000001
        """

    func folder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("graphs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("a missing path, a folder without pipelines and a pipeline with errors are coded failures")
    func failures() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let missing = "\(dir)/nothing-here.yaml"
        #expect(throws: PipelineGraphs.Failure.self) { try PipelineGraphs.load(missing) }
        do {
            _ = try PipelineGraphs.load(missing)
            Issue.record("a missing path loaded")
        } catch {
            #expect(error.code == .missing && error.code != .empty)
            #expect(error.message == "no such file or folder: '\(missing)'" && error.description == error.message)
            #expect(error.diagnostics.isEmpty)
        }
        do {
            _ = try PipelineGraphs.load(dir)
            Issue.record("an empty folder loaded")
        } catch {
            #expect(error.code == .empty && error.message == "no *.yaml or *.yml pipelines under \(dir)")
        }

        try Self.valid.write(toFile: "\(dir)/a.yaml", atomically: true, encoding: .utf8)
        try "version: 1\nname: broken\nsteps: 3\n".write(toFile: "\(dir)/b.yaml", atomically: true, encoding: .utf8)
        do {
            _ = try PipelineGraphs.load(dir)
            Issue.record("a folder with a broken pipeline loaded")
        } catch {
            #expect(error.code == .invalid && error.code.description == "invalid")
            #expect(error.files == 2 && !error.diagnostics.isEmpty)
            #expect(error.message == "1 of 2 pipelines have errors")
        }
    }

    @Test("a folder of valid pipelines gives one graph each")
    func graphs() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.valid.write(toFile: "\(dir)/a.yaml", atomically: true, encoding: .utf8)
        try Self.valid.replacingOccurrences(of: "check-status", with: "other")
            .write(toFile: "\(dir)/b.yml", atomically: true, encoding: .utf8)
        #expect(try PipelineGraphs.load(dir).count == 2)
    }
}
