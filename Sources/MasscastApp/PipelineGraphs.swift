import Foundation
import PipelineCore
import PipelineYAML

/// `masscast graph`: the step graphs of a pipeline file or of every pipeline in a folder.
public enum PipelineGraphs {
    /// Why nothing is drawn: the path is missing, holds no pipeline, or some pipeline has
    /// errors (its diagnostics are in ``diagnostics``).
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// What kind of problem it is. Codes extend without breaking callers.
        public struct Code: Hashable, Sendable, CustomStringConvertible {
            private enum Base: String, Hashable, Sendable {
                case missing, empty, invalid
            }
            private let base: Base
            private init(_ base: Base) { self.base = base }

            /// The path does not exist.
            public static let missing = Code(.missing)
            /// The folder holds no pipeline.
            public static let empty = Code(.empty)
            /// Some pipeline has errors.
            public static let invalid = Code(.invalid)

            public var description: String { base.rawValue }
        }

        /// The kind of problem.
        public var code: Code
        /// What went wrong, for the user: one line.
        public var message: String
        /// The pipelines' diagnostics, for ``Code/invalid`` (to be rendered as `validate` renders them).
        public var diagnostics: [Diagnostic]
        /// The pipeline files read.
        public var files: Int

        public init(_ code: Code, _ message: String, diagnostics: [Diagnostic] = [], files: Int = 0) {
            self.code = code
            self.message = message
            self.diagnostics = diagnostics
            self.files = files
        }

        public var description: String { message }
    }

    /// One graph per pipeline under `path` (masscast.yaml excepted), in file order.
    public static func load(_ path: String) throws(Failure) -> [StepGraph] {
        let (found, missing) = PipelineFiles.discover([path])
        if !missing.isEmpty { throw Failure(.missing, "no such file or folder: '\(path)'") }
        let files = found.filter { ($0 as NSString).lastPathComponent != ProjectConfigLoader.fileName }
        if files.isEmpty { throw Failure(.empty, "no *.yaml or *.yml pipelines under \(path)") }
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
        guard graphs.count == files.count else {
            throw Failure(
                .invalid, "\(files.count - graphs.count) of \(files.count) pipelines have errors", diagnostics: problems,
                files: files.count)
        }
        return graphs
    }
}
