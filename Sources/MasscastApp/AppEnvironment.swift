import Foundation

/// What a command reads from its process: the environment variables and the working
/// directory. The command line passes ``process``; tests pass their own, so that nothing
/// depends on the test process's environment.
public struct AppEnvironment: Sendable {
    /// The environment variables.
    public var variables: [String: String]
    /// The working directory (absolute).
    public var workingDirectory: String

    /// An environment with these variables and working directory.
    public init(variables: [String: String] = [:], workingDirectory: String) {
        self.variables = variables
        self.workingDirectory = workingDirectory
    }

    /// This process's environment and working directory.
    public static var process: AppEnvironment {
        AppEnvironment(
            variables: ProcessInfo.processInfo.environment,
            workingDirectory: FileManager.default.currentDirectoryPath)
    }

    /// `path` made absolute against the working directory and lexically normalised.
    public func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return (path as NSString).standardizingPath }
        return ((workingDirectory as NSString).appendingPathComponent(path) as NSString).standardizingPath
    }

    /// A variable's value when it is set and not empty.
    public subscript(nonEmpty name: String) -> String? {
        variables[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}
