import Foundation
import PipelineCore
import PipelineYAML
import Testing

/// `NAME.inputs.yaml` beside a pipeline and the `apply:` key (issue 12 item 4).
@Suite("Inputs files and apply: manual")
struct InputsFileTests {
    static let pipeline = """
        version: 1
        name: spring
        account: brand-main
        inputs:
          tag_id: {type: integer, required: true}
          reviewer: {type: string, default: editor_01}
          vip: {type: boolean}
        steps:
          - id: send
            uses: mass/sendall
            with:
              filter: {is_to_all: false, tag_id: "${{ inputs.tag_id }}"}
              msgtype: text
              text: {content: Hello}
        """

    func withFiles(_ inputs: String, _ body: (PipelineLoader.LoadedInputs?, Pipeline) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inputs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("spring.yaml").path
        try Self.pipeline.write(toFile: path, atomically: true, encoding: .utf8)
        if !inputs.isEmpty {
            try inputs.write(toFile: dir.appendingPathComponent("spring.inputs.yaml").path, atomically: true, encoding: .utf8)
        }
        let loaded = PipelineLoader().load(path: path)
        let pipeline = try #require(loaded.pipeline)
        #expect(!loaded.hasErrors)
        try body(PipelineLoader().loadInputs(for: pipeline, pipelinePath: path), pipeline)
    }

    @Test("values are typed by the declarations, with their line and column")
    func typedValues() throws {
        try withFiles("tag_id: 100\nvip: true\n") { loaded, pipeline in
            let inputs = try #require(loaded)
            #expect(inputs.diagnostics.isEmpty)
            #expect(inputs.inputs.values["tag_id"]?.value == .integer(100))
            #expect(inputs.inputs.values["tag_id"]?.location.line == 1)
            #expect(inputs.inputs.values["vip"]?.value == .bool(true))
            #expect(inputs.inputs.file.hasSuffix("spring.inputs.yaml"))
            #expect(InputsFile.missing([:], pipeline: pipeline) == ["tag_id"])
            #expect(InputsFile.missing(inputs.inputs.plainValues, pipeline: pipeline).isEmpty)
        }
    }

    @Test("an undeclared name and a value of another type are errors at file:line:column; nothing is guessed")
    func errors() throws {
        try withFiles("tag_id: \"100\"\nreviwer: ann\n") { loaded, _ in
            let inputs = try #require(loaded)
            let rendered = inputs.diagnostics.map { "\($0.location?.line ?? 0):\($0.location?.column ?? 0) \($0.code.rawValue) \($0.message)" }
            #expect(rendered.count == 2)
            #expect(rendered[0].hasPrefix("1:9 MC2002 input 'tag_id' is an integer"))
            #expect(rendered[1].hasPrefix("2:1 MC2001 'reviwer' is not an input of pipeline spring"))
            #expect(inputs.diagnostics[1].hint == "did you mean 'reviewer'?")
            #expect(inputs.inputs.values.isEmpty)
        }
        try withFiles("- 100\n") { loaded, _ in
            #expect(loaded?.diagnostics.first?.message.contains("is a mapping of input names to values") == true)
        }
    }

    @Test("no inputs file: nothing; the file beside x.yaml is x.inputs.yaml and folders skip it")
    func location() throws {
        try withFiles("") { loaded, _ in #expect(loaded == nil) }
        #expect(InputsFile.path(forPipeline: "pipelines/a.yaml") == "pipelines/a.inputs.yaml")
        #expect(InputsFile.path(forPipeline: "b.yml") == "b.inputs.yml")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inputs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["a.yaml", "a.inputs.yaml"] {
            try "x: 1\n".write(toFile: dir.appendingPathComponent(name).path, atomically: true, encoding: .utf8)
        }
        #expect(PipelineFiles.discover([dir.path]).files.map { ($0 as NSString).lastPathComponent } == ["a.yaml"])
    }

    @Test("apply: manual opts out; a pipeline without a send step is not a broadcast; other values are errors")
    func applyKey() {
        let manual = load(Self.pipeline + "\napply: manual\n")
        #expect(manual.pipeline?.apply == .manual)
        #expect(!manual.hasErrors)
        #expect(load(Self.pipeline).pipeline?.apply == .auto)
        #expect(load(Self.pipeline).pipeline?.isBroadcast == true)
        #expect(codes(Self.pipeline + "\napply: later\n") == ["MC2009"])
        let status = load(
            """
            version: 1
            name: status
            account: brand-main
            steps:
              - id: get
                uses: mass/get
                with: {msg_id: 1000000001}
            """)
        #expect(status.pipeline?.isBroadcast == false)
    }
}

extension InputsFileTests {
    @Test("an empty inputs file: MC1006 with a hint about inputs files, not pipelines")
    func emptyInputsFileHint() throws {
        try withFiles("# nothing here\n") { inputs, _ in
            let loaded = try #require(inputs)
            let empty = loaded.diagnostics.first { $0.code == .documentCount }
            #expect(empty != nil, "\(loaded.diagnostics)")
            #expect(empty?.hint?.contains("inputs file") == true, "\(empty?.hint ?? "")")
            #expect(empty?.hint?.contains("pipeline starts with") == false)
        }
    }
}
