import Foundation
import PipelineCore

extension PlannedMessage {
    /// The first characters of a text a plan shows.
    public static let textSummaryLength = 80

    /// What a send, preview or uploadnews step's evaluated `with` carries, for review:
    /// text's first 80 characters (a `content_file` read in), article titles, a media id or
    /// the step it comes from. `nil` for the other kinds.
    static func summarising(_ with: [String: Value], kind: String, reader: InputReader) -> PlannedMessage? {
        switch kind {
        case "media/uploadnews":
            guard case .list(let articles)? = with["articles"] else { return nil }
            let titles = articles.compactMap { $0["title"]?.stringValue }
            return PlannedMessage(
                msgtype: nil, summary: "articles: " + titles.map { "“\($0)”" }.joined(separator: ", "),
                sendIgnoreReprint: nil)
        case "mass/sendall", "mass/send", "mass/preview":
            break
        default:
            return nil
        }
        let msgtype = with["msgtype"]?.stringValue
        let body = (try? reader.payloadWithFiles(with)) ?? with
        var summary: String
        switch msgtype {
        case "text":
            let content = body["text"]?["content"]?.stringValue ?? ""
            summary = Self.summary(text: content)
        case "mpnews", "image", "voice", "mpvideo", "wxcard":
            let part = msgtype.flatMap { body[$0] ?? body[$0 + "s"] }
            if let id = part?["media_id"] ?? part?["card_id"] {
                summary = Self.idText(id)
            } else if case .list(let ids)? = part?["media_ids"] {
                summary = ids.map(Self.idText).joined(separator: ", ")
            } else {
                summary = "(no content)"
            }
        default:
            summary = "msgtype \(msgtype ?? "missing")"
        }
        var reprint: Bool?
        if msgtype == "mpnews", let flag = with["send_ignore_reprint"] {
            if case .bool(let b) = flag { reprint = b } else { reprint = flag.intValue.map { $0 == 1 } }
        }
        return PlannedMessage(msgtype: msgtype, summary: summary, sendIgnoreReprint: reprint)
    }

    /// The `content_file`s a `with` names (a text's, articles').
    static func contentFiles(in with: [String: Value]) -> [String] {
        var out: [String] = []
        if let file = with["text"]?["content_file"]?.stringValue { out.append(file) }
        if case .list(let articles)? = with["articles"] {
            out += articles.compactMap { $0["content_file"]?.stringValue }
        }
        return out
    }

    /// Text cut to ``textSummaryLength`` characters, on one line, `…` when cut.
    public static func summary(text: String) -> String {
        let line = text.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
        guard line.count > textSummaryLength else { return "“\(line)”" }
        return "“\(line.prefix(textSummaryLength))…” (\(line.count) characters)"
    }

    /// A media id (an earlier step's output stays its placeholder, which a plan shows as
    /// `(known after upload)`).
    static func idText(_ value: Value) -> String { value.templateText }
}

extension OutputReference {
    /// The dotted paths in `with` whose value holds an earlier step's output, each with the
    /// id of that step (a plan shows them as `(known after upload)`).
    static func unknownFields(in with: [String: Value]) -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ value: Value, _ path: String) {
            switch value {
            case .string:
                if let first = all(in: value).first { out[path] = first.step }
            case .list(let items):
                for (i, item) in items.enumerated() { walk(item, "\(path)[\(i)]") }
            case .object(let o):
                for (k, v) in o { walk(v, path.isEmpty ? k : "\(path).\(k)") }
            default: break
            }
        }
        walk(.object(with), "")
        return out
    }
}
