import ArgumentParser
import Foundation
import MasscastApp
import PipelineCore
import PipelineYAML

struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a pipeline's step graph as Mermaid or Graphviz DOT.",
        discussion: """
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
    )

    @Argument(help: "The pipeline file, or a folder of pipelines.")
    var pipeline: String

    @Option(help: "mermaid or dot.")
    var format: GraphFormat = .mermaid

    func run() throws {
        do {
            writeStdout(StepGraph.render(try PipelineGraphs.load(pipeline), format: format))
        } catch .missing {
            writeStderr("masscast: no such file or folder: '\(pipeline)'\n")
            throw Exit.invalid
        } catch .empty {
            writeStderr("masscast: no *.yaml or *.yml pipelines under \(pipeline)\n")
            throw Exit.invalid
        } catch .invalid(let problems, let files) {
            let cache = SourceCache()
            let renderer = DiagnosticRenderer(color: useColor(2)) { cache.line($0, $1) }
            writeStderr(renderer.text(problems, pipelines: files, configs: []))
            throw Exit.invalid
        }
    }
}

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the JSON Schema (draft-07) of the pipeline format.",
        discussion: """
            Editors use it for completion and checks: with yaml-language-server, put this line at \
            the top of a pipeline:

              # yaml-language-server: $schema=../schemas/pipeline.schema.json

            The copy in schemas/pipeline.schema.json is this output.
            """
    )

    func run() throws {
        writeStdout(PipelineSchema.json())
    }
}
