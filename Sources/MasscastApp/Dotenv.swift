import Foundation

/// A dotenv file of secrets: `NAME=value` lines, as `--secrets FILE` reads them.
///
/// Blank lines and lines starting with `#` are skipped; `export NAME=value` is allowed;
/// spaces around the name and the value are trimmed; a value in matching single or double
/// quotes loses them (nothing inside is unescaped). Any other line is an error naming its
/// line number, never its text (it may hold a secret).
public enum Dotenv {
    /// The variables of `text`; a later line wins over an earlier one with the same name.
    /// - Parameter file: the file's name, for errors.
    public static func parse(_ text: String, file: String) throws(SetupError) -> [String: String] {
        var values: [String: String] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)) }
            guard let eq = line.firstIndex(of: "=") else {
                throw SetupError(.secrets, "\(file):\(n + 1): expected NAME=value")
            }
            let name = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
            }
            values[name] = value
        }
        return values
    }
}
