import Foundation
import MasscastTesting
import Testing
@testable import WeChatMP

/// Flat request bodies are written straight to bytes (`FlatRequestEncoder`); they must be
/// byte for byte what `WeChatJSON.encoder()` writes, and anything else is left to it.
@Suite("Flat request encoding")
struct FlatRequestEncoderTests {
    @Test func requestsAreJSONEncodersBytes() throws {
        let get = GetRequest(msgID: 1_000_000_001)
        let body = try #require(FlatRequestEncoder.encode(get))
        #expect(String(decoding: body, as: UTF8.self) == #"{"msg_id":"1000000001"}"#)
        #expect(body == (try WeChatJSON.encoder().encode(get)))
        #expect(FlatRequestEncoder.encode(SpeedGetRequest()) == (try WeChatJSON.encoder().encode(SpeedGetRequest())))
        // encodeIfPresent with nil writes nothing, as JSONEncoder does.
        for value in [PreviewResponse(msgID: nil), PreviewResponse(msgID: 5)] {
            #expect(FlatRequestEncoder.encode(value) == (try WeChatJSON.encoder().encode(value)))
        }
        let send = SendResponse(msgID: 34182, msgDataID: 206_227_730)
        #expect(FlatRequestEncoder.encode(send) == (try WeChatJSON.encoder().encode(send)))
    }

    /// Generated flat values with tricky keys (case, digits, `_`) and strings (every control
    /// character, quotes, slashes, non-ASCII): the same bytes as `JSONEncoder`, or `nil`.
    @Test func sameBytesAsJSONEncoder() throws {
        var random = SeededRandom(seed: 4_1204)
        var flat = 0
        for index in 0..<3_000 {
            let value = Self.value(&random)
            let expected = try WeChatJSON.encoder().encode(value)
            if let actual = FlatRequestEncoder.encode(value) {
                flat += 1
                #expect(actual == expected,
                        "value \(index): \(String(decoding: actual, as: UTF8.self)) != \(String(decoding: expected, as: UTF8.self))")
            }
        }
        #expect(flat > 2_000)
    }

    /// Nested values, doubles, repeated keys: left to `JSONEncoder`.
    @Test func givesUpOnWhatIsNotFlat() throws {
        #expect(FlatRequestEncoder.encode(["a": ["b": 1]]) == nil)
        #expect(FlatRequestEncoder.encode(Sample(fields: [("a", .double(1.5))])) == nil)
        #expect(FlatRequestEncoder.encode(Sample(fields: [("a", .int(1)), ("a", .int(2))])) == nil)
        #expect(FlatRequestEncoder.encode(Sample(fields: [("é", .int(1))])) == nil)
        #expect(FlatRequestEncoder.encode([1, 2]) == nil)
        #expect(FlatRequestEncoder.encode("text") == nil)
    }

    enum Scalar: Encodable {
        case string(String), int(Int64), bool(Bool), null, double(Double), status(MassStatus)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let s): try container.encode(s)
            case .int(let i): try container.encode(i)
            case .bool(let b): try container.encode(b)
            case .null: try container.encodeNil()
            case .double(let d): try container.encode(d)
            case .status(let s): try container.encode(s)
            }
        }
    }

    struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    struct Sample: Encodable {
        let fields: [(String, Scalar)]

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            for (key, value) in fields {
                switch value {
                case .string(let s): try container.encode(s, forKey: Key(stringValue: key))
                case .int(let i): try container.encode(i, forKey: Key(stringValue: key))
                case .bool(let b): try container.encode(b, forKey: Key(stringValue: key))
                case .null: try container.encodeNil(forKey: Key(stringValue: key))
                default: try container.encode(value, forKey: Key(stringValue: key))
                }
            }
        }
    }

    private static let keys = [
        "msg_id", "msgtype", "msgid", "Msg", "MSG_ID", "a", "A", "b", "B", "_x", "a9", "a10", "a1", "z", "x-y",
        "clientmsgid", "send_ignore_reprint", "touser", "towxname", "speed", "media_id", "1", "10", "9", "",
    ]

    private static func text(_ random: inout SeededRandom) -> String {
        var scalars: [Unicode.Scalar] = []
        for _ in 0..<random.below(8) {
            switch random.below(6) {
            case 0: scalars.append(Unicode.Scalar(UInt8(random.below(0x20))))
            case 1: scalars.append(["\"", "\\", "/", "\u{7F}", " "].randomElement(using: &random)!)
            case 2: scalars.append(["é", "群", "发", "😀", "\u{2028}", "\u{FEFF}"].randomElement(using: &random)!)
            default: scalars.append(Unicode.Scalar(UInt8(0x21 + random.below(0x5E))))
            }
        }
        return String(String.UnicodeScalarView(scalars))
    }

    static func value(_ random: inout SeededRandom) -> Sample {
        var used = Set<String>()
        var fields: [(String, Scalar)] = []
        for _ in 0..<random.below(6) {
            let key = keys[random.below(keys.count)]
            guard used.insert(key).inserted else { continue }
            let scalar: Scalar
            switch random.below(7) {
            case 0: scalar = .int(Int64(bitPattern: random.next()))
            case 1: scalar = .int(Int64(random.below(1_000)) - 500)
            case 2: scalar = .bool(random.below(2) == 0)
            case 3: scalar = .null
            case 4: scalar = .status([.sending, .sendSuccess, .unknown("X/Y")].randomElement(using: &random)!)
            default: scalar = .string(text(&random))
            }
            fields.append((key, scalar))
        }
        return Sample(fields: fields)
    }
}

