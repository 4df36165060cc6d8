import Foundation
import Testing

@testable import PipelineCore

@Suite("Secret byte forms and the byte search")
struct SecretBytesTests {
    @Test("a secret's forms: as written, percent-encoded in both hex cases, JSON with and without escaped slashes; each once")
    func forms() {
        let forms = SecretBytes.forms(of: "k3y/\"q\"+v").map { String(decoding: $0, as: UTF8.self) }
        #expect(forms.contains("k3y/\"q\"+v"))
        #expect(forms.contains("k3y%2F%22q%22%2Bv"))
        #expect(forms.contains("k3y%2f%22q%22%2bv"))
        #expect(forms.contains(#"k3y/\"q\"+v"#))
        #expect(forms.contains(#"k3y\/\"q\"+v"#))
        #expect(Set(forms).count == forms.count)
        // A plain secret has one form.
        #expect(SecretBytes.forms(of: "plainsecret99") == [Array("plainsecret99".utf8)])
    }

    @Test("the search finds the first occurrence at or after an offset, at the start, the end and overlapping; never past the end")
    func search() {
        func find(_ needle: String, _ text: String, from: Int = 0) -> Int? {
            Array(text.utf8).withUnsafeBytes { SecretBytes.firstOffset(of: Array(needle.utf8), in: $0, from: from) }
        }
        #expect(find("abc", "abc") == 0)
        #expect(find("abc", "xxabc") == 2)
        #expect(find("abc", "xxab") == nil)
        #expect(find("aab", "aaab") == 1)
        #expect(find("aa", "aaaa", from: 1) == 1)
        #expect(find("aa", "aaaa", from: 3) == nil)
        #expect(find("a", "ba", from: 1) == 1)
        #expect(find("a", "ba", from: 2) == nil)
        #expect(find("a", "", from: 0) == nil)
        #expect(find("", "abc") == nil)
        // Against a naive search on generated texts.
        var seed: UInt64 = 42
        for _ in 0..<300 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let bits = seed
            let text = String((0..<Int(bits >> 58)).map { i in (bits >> UInt64(i)) & 1 == 0 ? Character("a") : Character("b") })
            for needle in ["a", "ab", "ba", "aab", "bbb"] {
                let t = Array(text.utf8), n = Array(needle.utf8)
                let naive = t.count >= n.count ? (0...(t.count - n.count)).first { Array(t[$0..<($0 + n.count)]) == n } : nil
                #expect(find(needle, text) == naive, "\(needle) in \(text)")
            }
        }
    }
}
