import Foundation

/// How `validate` prints diagnostics.
public enum DiagnosticFormat: String, Sendable, CaseIterable {
    /// `file:line:col: error: message [MC1234]`, the source line and a caret.
    case text
    /// An object shaped like `terraform validate -json`.
    case json
    /// GitHub Actions workflow commands (`::error file=…,line=…,col=…::…`).
    case github
}

/// Renders diagnostics. Pure: source lines come from the caller.
public struct DiagnosticRenderer: Sendable {
    /// Returns line `line` (1-based) of `file`, without its newline, or `nil`.
    public typealias SourceLines = @Sendable (_ file: String, _ line: Int) -> String?

    public var sourceLines: SourceLines
    /// Colour the text format (only on a terminal).
    public var color: Bool
    /// The widest a snippet's source line is shown, in terminal columns, gutter included: a
    /// longer line (a 1 MB flow list on one line) is shown as the part around the caret,
    /// with `…` where it was cut.
    public var snippetWidth: Int

    public init(color: Bool = false, snippetWidth: Int = 120, sourceLines: @escaping SourceLines) {
        self.color = color
        self.snippetWidth = snippetWidth
        self.sourceLines = sourceLines
    }

    // MARK: text

    /// One diagnostic in the compiler style, with its note and hint.
    public func text(_ d: Diagnostic) -> String {
        var out = ""
        let place = d.location.map { "\($0.file):\($0.line):\($0.column): " } ?? "masscast: "
        out += paint(place, bold: true) + paint("\(d.severity.rawValue):", severity: d.severity) + " "
            + paint(d.message, bold: true) + " [\(d.code.rawValue)]\n"
        if let loc = d.location { out += snippet(loc, redact: d.redactsSource) }
        if let hint = d.hint { out += "      " + paint("hint:", severity: .note) + " \(hint)\n" }
        if let note = d.note {
            let notePlace = note.location.map { "\($0.file):\($0.line):\($0.column): " } ?? ""
            out += paint(notePlace, bold: true) + paint("note:", severity: .note) + " \(note.message)\n"
            if let loc = note.location { out += snippet(loc) }  // masked like any snippet
        }
        return out
    }

    /// All diagnostics in the text format, followed by a summary line.
    public func text(_ diagnostics: [Diagnostic], files: Int) -> String {
        var out = diagnostics.map(text).joined()
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.filter { $0.severity == .warning }.count
        let fileWord = files == 1 ? "file" : "files"
        if errors == 0 && warnings == 0 {
            out += "\(files) \(fileWord) valid\n"
        } else {
            out += "\(files) \(fileWord) checked: \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")\n"
        }
        return out
    }

    /// All diagnostics in the text format, followed by `validate`'s summary line, which
    /// names what was checked: `3 pipelines valid (and masscast.yaml)`,
    /// `1 pipeline checked: 2 errors, 0 warnings`, `masscast.yaml valid`.
    ///
    /// - Parameters:
    ///   - pipelines: How many pipeline files were checked.
    ///   - configs: The project config files checked, named as the user would write them.
    public func text(_ diagnostics: [Diagnostic], pipelines: Int, configs: [String]) -> String {
        diagnostics.map(text).joined() + Self.summary(diagnostics, pipelines: pipelines, configs: configs) + "\n"
    }

    /// The summary line (without its newline); see ``text(_:pipelines:configs:)``.
    public static func summary(_ diagnostics: [Diagnostic], pipelines: Int, configs: [String]) -> String {
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.filter { $0.severity == .warning }.count
        let configNames = configs.count > 3 ? "\(configs.count) project configs" : configs.joined(separator: ", ")
        let counts = "\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
        let outcome = errors == 0 && warnings == 0 ? "valid" : "checked"
        if pipelines == 0 && !configs.isEmpty {
            return "\(configNames) \(outcome)" + (outcome == "valid" ? "" : ": " + counts)
        }
        let also = configs.isEmpty ? "" : " (and \(configNames))"
        let subject = "\(pipelines) \(pipelines == 1 ? "pipeline" : "pipelines") \(outcome)\(also)"
        return outcome == "valid" ? subject : subject + ": " + counts
    }

    /// The line as shown in a snippet: cut at the diagnostic's column when the diagnostic
    /// says a secret starts there, and with the value of any secret-named key masked.
    private func sourceLine(_ loc: SourceLocation, redact: Bool) -> String? {
        guard let line = sourceLines(loc.file, loc.line) else { return nil }
        if redact {
            return String(String.UnicodeScalarView(line.unicodeScalars.prefix(max(0, loc.column - 1)))) + "<redacted>"
        }
        return Self.maskSecrets(line)
    }

    /// Keys whose literal values are secrets (in pipelines, masscast.yaml and fixtures).
    static let secretKeys = ["app_secret", "appsecret", "secret", "access_token", "token",
                             "encoding_aes_key", "previous_encoding_aes_key", "aes_key"]
    static let secretKeyBytes = secretKeys.map { Array($0.utf8) }

    /// Masks what follows `key:` for a secret-named key, unless it is an expression.
    static func maskSecrets(_ line: String) -> String {
        // Most lines name no secret key: a byte scan says so without Foundation.
        guard ASCIISearch.mayContain(line, anyOf: secretKeyBytes) else { return line }
        let lower = line.lowercased()
        guard secretKeys.contains(where: { lower.contains($0) }) else { return line }
        var out = line
        for key in secretKeys {
            var searchFrom = out.startIndex
            while let r = out.range(of: key + ":", options: .caseInsensitive, range: searchFrom..<out.endIndex) {
                // Only a whole key: preceded by start, space, '{', ',' or a quote.
                if r.lowerBound > out.startIndex {
                    let before = out[out.index(before: r.lowerBound)]
                    if !" \t{,\"'-".contains(before) {
                        searchFrom = r.upperBound
                        continue
                    }
                }
                let rest = out[r.upperBound...]
                let value = rest.drop { $0 == " " || $0 == "\t" }
                let end = value.firstIndex { $0 == "," || $0 == "}" } ?? out.endIndex
                let text = value[value.startIndex..<end].trimmingCharacters(in: .whitespaces)
                let bare = text.trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
                if text.isEmpty || bare.hasPrefix("${{") || text.hasPrefix("#") {
                    searchFrom = r.upperBound
                    continue
                }
                out.replaceSubrange(value.startIndex..<end, with: "<redacted>" + (end == out.endIndex ? "" : " "))
                searchFrom = out.index(r.upperBound, offsetBy: 0, limitedBy: out.endIndex) ?? out.endIndex
            }
        }
        return out
    }

    private func snippet(_ loc: SourceLocation, redact: Bool = false) -> String {
        guard let full = sourceLine(loc, redact: redact) else { return "" }
        let number = String(loc.line)
        let gutter = String(repeating: " ", count: max(4, number.count + 1) - number.count) + number + " | "
        let blank = String(repeating: " ", count: max(4, number.count + 1)) + " | "
        let (line, caretIndex) = Self.window(full, caretAt: loc.column - 1,
                                             width: max(20, snippetWidth - gutter.count))
        return gutter + line + "\n" + blank + Self.caretPad(line, before: caretIndex) + paint("^", severity: .error) + "\n"
    }

    /// What goes under `line` before the caret at scalar `caret`: a tab under a tab, and
    /// under any other character as many spaces as it takes columns.
    static func caretPad(_ line: String, before caret: Int) -> String {
        var pad: [UInt8] = []
        pad.reserveCapacity(max(0, caret))
        for (i, c) in line.unicodeScalars.enumerated() {
            guard i < caret else { break }
            if c == "\t" {
                pad.append(0x09)
            } else {
                for _ in 0..<Self.displayWidth(c) { pad.append(0x20) }
            }
        }
        return String(decoding: pad, as: UTF8.self)
    }

    /// The part of `line` that fits `width` columns around the scalar at `caret` (0-based),
    /// with `…` where it was cut, and the caret's scalar index in that part. A line that fits
    /// is returned whole.
    static func window(_ line: String, caretAt caret: Int, width: Int) -> (String, Int) {
        // Most lines are ASCII and fit: a byte count says so (a tab takes 4 columns here).
        if Self.asciiColumns(line).map({ $0 <= width }) == true { return (line, caret) }
        let scalars = Array(line.unicodeScalars)
        let widths = scalars.map { $0 == "\t" ? 4 : displayWidth($0) }
        guard widths.reduce(0, +) > width else { return (line, caret) }
        let budget = width - 2  // room for an ellipsis at each end
        let anchor = min(max(0, caret), scalars.count)
        // Start about a third of the budget before the caret, then extend right.
        var start = anchor
        var used = 0
        while start > 0, used + widths[start - 1] <= budget / 3 {
            start -= 1
            used += widths[start]
        }
        var end = anchor
        while end < scalars.count, used + widths[end] <= budget {
            used += widths[end]
            end += 1
        }
        while start > 0, used + widths[start - 1] <= budget {  // the line ended early: use the room on the left
            start -= 1
            used += widths[start]
        }
        var out = String.UnicodeScalarView()
        if start > 0 { out.append("…") }
        out.append(contentsOf: scalars[start..<end])
        if end < scalars.count { out.append("…") }
        return (String(out), anchor - start + (start > 0 ? 1 : 0))
    }

    /// The columns of `line` as ``window(_:caretAt:width:)`` counts them, when it is all
    /// ASCII without control characters other than tab (`nil` otherwise).
    static func asciiColumns(_ line: String) -> Int? {
        var columns = 0
        for byte in line.utf8 {
            if byte == 0x09 {
                columns += 4
            } else if byte >= 0x20 && byte < 0x7F {
                columns += 1
            } else {
                return nil
            }
        }
        return columns
    }

    /// Terminal columns a character occupies (East Asian wide characters take two).
    static func displayWidth(_ c: Unicode.Scalar) -> Int {
        switch c.value {
        case 0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F,
             0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            return 2
        case 0x0300...0x036F, 0x200B...0x200F:
            return 0
        default:
            return 1
        }
    }

    private func paint(_ s: String, bold: Bool = false, severity: Severity? = nil) -> String {
        guard color, !s.isEmpty else { return s }
        var code = bold ? "1" : ""
        switch severity {
        case .error?: code = "1;31"
        case .warning?: code = "1;35"
        case .note?: code = "1;36"
        case nil: break
        }
        return code.isEmpty ? s : "\u{1B}[\(code)m\(s)\u{1B}[0m"
    }

    // MARK: json

    /// The report shaped like `terraform validate -json`, plus each diagnostic's `code`.
    public func json(_ diagnostics: [Diagnostic], files: Int) -> String {
        var items: [[String: Any]] = []
        for d in diagnostics {
            var item: [String: Any] = [
                "severity": d.severity.rawValue,
                "code": d.code.rawValue,
                "summary": d.message,
            ]
            var detail: [String] = []
            if let hint = d.hint { detail.append(hint) }
            if let note = d.note {
                detail.append(note.location.map { "\(note.message) (\($0.line):\($0.column))" } ?? note.message)
            }
            item["detail"] = detail.joined(separator: "\n")
            if let loc = d.location {
                let point: [String: Any] = ["line": loc.line, "column": loc.column]
                item["range"] = ["filename": loc.file, "start": point, "end": point] as [String: Any]
                if let code = sourceLine(loc, redact: d.redactsSource) {
                    item["snippet"] = ["code": code, "start_line": loc.line,
                                       "highlight_start_offset": loc.column - 1,
                                       "highlight_end_offset": loc.column] as [String: Any]
                }
            }
            if let note = d.note, let loc = note.location {
                let point: [String: Any] = ["line": loc.line, "column": loc.column]
                item["note"] = ["message": note.message,
                                "range": ["filename": loc.file, "start": point, "end": point] as [String: Any]] as [String: Any]
            }
            items.append(item)
        }
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.filter { $0.severity == .warning }.count
        let report: [String: Any] = [
            "format_version": "1.0",
            "valid": errors == 0,
            "file_count": files,
            "error_count": errors,
            "warning_count": warnings,
            "diagnostics": items,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    // MARK: github

    /// GitHub Actions annotations, one line each.
    public func github(_ diagnostics: [Diagnostic]) -> String {
        func escapeData(_ s: String) -> String {
            s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
                .replacingOccurrences(of: "\n", with: "%0A")
        }
        func escapeProperty(_ s: String) -> String {
            escapeData(s).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
        }
        var out = ""
        for d in diagnostics {
            let command = d.severity == .error ? "error" : d.severity == .warning ? "warning" : "notice"
            var props: [String] = []
            if let loc = d.location {
                props += ["file=\(escapeProperty(loc.file))", "line=\(loc.line)", "col=\(loc.column)"]
            }
            props.append("title=\(escapeProperty(d.code.rawValue))")
            var message = d.message
            if let hint = d.hint { message += "\nhint: \(hint)" }
            if let note = d.note {
                message += "\nnote: \(note.message)" + (note.location.map { " (line \($0.line), column \($0.column))" } ?? "")
            }
            out += "::\(command) \(props.joined(separator: ","))::\(escapeData(message))\n"
        }
        return out
    }
}
