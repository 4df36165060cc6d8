import Crypto
import Foundation
import PipelineCore

/// The clientmsgid recipe of the format ("Idempotency and identity").
public enum Idempotency {
    /// `"mc1-"` + lowercase hex of the first 24 bytes of SHA-256 over the canonical JSON of
    /// `{"account","batch","generation","inputs","name","step"}`: 52 bytes.
    public static func clientMsgID(
        appID: String, name: String, inputs: [String: Value], step: String, batch: Int, generation: Int
    ) -> String {
        let document: Value = .object([
            "account": .string(appID), "batch": .integer(batch), "generation": .integer(generation),
            "inputs": .object(inputs), "name": .string(name), "step": .string(step),
        ])
        let digest = SHA256.hash(data: Data(document.jsonText.utf8))
        return "mc1-" + hex(digest.prefix(24))
    }

    /// Canonical JSON of the inputs (sorted keys, no spaces): part of a broadcast's identity.
    public static func canonicalInputs(_ inputs: [String: Value]) -> String {
        Value.object(inputs).jsonText
    }

    /// SHA-256 hex of `data`.
    public static func digest(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    /// SHA-256 hex of `text`'s UTF-8.
    public static func digest(_ text: String) -> String { digest(Data(text.utf8)) }

    static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
