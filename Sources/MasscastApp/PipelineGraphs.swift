import Foundation
import PipelineCore
import PipelineYAML

/// `masscast graph`: the step graphs of a pipeline file or of every pipeline in a folder.
public enum PipelineGraphs {
    /// Why nothing is drawn.
    public enum Failure: Error, Sendable {
        /// The path does not exist.
        case missing
        /// The folder holds no pipeline.
        case empty
        /// Some pipeline has errors (`diagnostics`) among the `files` read.
        case invalid(diagnostics: [Diagnostic], files: Int)
    }

    /// One graph per pipeline under `path` (masscast.yaml excepted), in file order.
    public static func load(_ path: String) throws(Failure) -> [StepGraph] {
        let (found, missing) = PipelineFiles.discover([path])
        if !missing.isEmpty { throw .missing }
        let files = found.filter { ($0 as NSString).lastPathComponent != ProjectConfigLoader.fileName }
        if files.isEmpty { throw .empty }
        var graphs: [StepGraph] = []
        var problems: [Diagnostic] = []
        let loader = PipelineLoader()
        for file in files {
            let loaded = loader.load(path: file)
            if let p = loaded.pipeline, !loaded.hasErrors {
                graphs.append(StepGraph(p))
            } else {
                problems += loaded.diagnostics
            }
        }
        guard graphs.count == files.count else { throw .invalid(diagnostics: problems, files: files.count) }
        return graphs
    }
}
