import Foundation

/// Whether output gets ANSI colour: only on a terminal, and never when `NO_COLOR` is set to a
/// non-empty value (https://no-color.org). An explicit `--color` flag may still force it.
public enum TerminalColor {
    /// - Parameters:
    ///   - isTerminal: the output is a terminal.
    ///   - environment: the process environment (`NO_COLOR`).
    public static func enabled(
        isTerminal: Bool, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Bool {
        guard isTerminal else { return false }
        if let value = environment["NO_COLOR"], !value.isEmpty { return false }
        return true
    }
}
