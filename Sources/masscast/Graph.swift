import ArgumentParser
import Foundation
import MasscastApp
import PipelineCore
import PipelineYAML

struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "graph",
        abstract: "Draw a pipeline's step graph as Mermaid or Graphviz DOT.",
        discussion: HelpText.graph
    )

    @Argument(help: "The pipeline file, or a folder of pipelines.")
    var pipeline: String

    @Option(help: "mermaid or dot.")
    var format: GraphFormat = .mermaid

    func run() throws {
        do {
            writeStdout(StepGraph.render(try PipelineGraphs.load(pipeline), format: format))
        } catch where error.code == .invalid {
            let cache = SourceCache()
            let renderer = DiagnosticRenderer(color: useColor(2)) { cache.line($0, $1) }
            writeStderr(renderer.text(error.diagnostics, pipelines: error.files, configs: []))
            throw Exit.invalid
        } catch {
            writeStderr("masscast: \(error.message)\n")
            throw Exit.invalid
        }
    }
}

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "schema",
        abstract: "Print the JSON Schema (draft-07) of the pipeline format.",
        discussion: HelpText.schema
    )

    func run() throws {
        writeStdout(PipelineSchema.json())
    }
}
