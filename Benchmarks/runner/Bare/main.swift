// The floor of the runner benchmark (Benchmarks/runner/run.sh, docs/benchmarks.md): the
// same WeChat calls as masscast's pipelines, made by a bare AsyncHTTPClient loop with
// nothing around it (no pipeline, no state store, no retries, no logging).
//
//   runner-bench-bare get  BASE APPID SECRET MSG_ID COUNT   COUNT × message/mass/get {"msg_id":MSG_ID}
//   runner-bench-bare send BASE APPID SECRET DIR            message/mass/send with each DIR/body-*.json
//
// Both modes first get a token with POST /cgi-bin/stable_token, as masscast does, then make
// the calls one after another, each waiting for the whole answer, which must be HTTP 200
// without a non-zero errcode. One line of results goes to standard output; the exit status
// is 1 if any call failed.
import AsyncHTTPClient
import Foundation
import NIOCore

struct Failure: Error, CustomStringConvertible {
    var description: String
}

/// One POST; the whole answer, which must be HTTP 200 and carry no non-zero errcode.
func post(_ client: HTTPClient, _ url: String, _ body: ByteBuffer) async throws -> ByteBuffer {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
    request.body = .bytes(body)
    let response = try await client.execute(request, timeout: .seconds(30))
    let answer = try await response.body.collect(upTo: 1 << 20)
    guard response.status.code == 200 else {
        throw Failure(description: "\(url.prefix { $0 != "?" }): HTTP \(response.status.code)")
    }
    if let code = errcode(answer), code != 0 {
        throw Failure(description: "\(url.prefix { $0 != "?" }): \(String(buffer: answer))")
    }
    return answer
}

/// The `errcode` of a JSON answer, if it has one (a byte scan: the answers are WeChat's
/// flat objects).
func errcode(_ answer: ByteBuffer) -> Int? {
    let key = Array("\"errcode\":".utf8)
    return answer.withUnsafeReadableBytes { raw -> Int? in
        let bytes = raw.bindMemory(to: UInt8.self)
        guard bytes.count >= key.count else { return nil }
        for start in 0...(bytes.count - key.count) where bytes[start] == key[0] {
            var match = true
            for k in 1..<key.count where bytes[start + k] != key[k] { match = false; break }
            guard match else { continue }
            var i = start + key.count
            while i < bytes.count, bytes[i] == 0x20 { i += 1 }
            var negative = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
            var value = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                value = value * 10 + Int(bytes[i] - 0x30)
                i += 1
            }
            return negative ? -value : value
        }
        return nil
    }
}

/// The string value of `key` in a flat JSON answer.
func stringField(_ answer: ByteBuffer, _ key: String) -> String? {
    let text = String(buffer: answer)
    guard let r = text.range(of: "\"\(key)\":\"") else { return nil }
    let rest = text[r.upperBound...]
    guard let end = rest.firstIndex(of: "\"") else { return nil }
    return String(rest[..<end])
}

func fixed(_ x: Double) -> String { String(format: "%.2f", x) }

func milliseconds(_ d: Duration) -> Double {
    let (s, atto) = d.components
    return Double(s) * 1000 + Double(atto) / 1e15
}

let args = CommandLine.arguments
guard args.count >= 5, ["get", "send"].contains(args[1]) else {
    FileHandle.standardError.write(Data("usage: runner-bench-bare get BASE APPID SECRET MSG_ID COUNT | send BASE APPID SECRET DIR\n".utf8))
    exit(2)
}
let mode = args[1], base = args[2], appID = args[3], secret = args[4]
// Configured as masscast's transport is: connect bounded at 5 s, no redirects, no
// decompression, the default event loop group.
var configuration = HTTPClient.Configuration()
configuration.timeout = .init(connect: .seconds(5), read: nil)
configuration.redirectConfiguration = .disallow
configuration.decompression = .disabled
let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
let clock = ContinuousClock()
let t0 = clock.now
var calls = 0
var bytesSent = 0
do {
    let tokenAnswer = try await post(
        client, "\(base)/cgi-bin/stable_token",
        ByteBuffer(string: "{\"grant_type\":\"client_credential\",\"appid\":\"\(appID)\",\"secret\":\"\(secret)\"}"))
    guard let token = stringField(tokenAnswer, "access_token") else {
        throw Failure(description: "no access_token in \(String(buffer: tokenAnswer))")
    }
    let t1 = clock.now
    switch mode {
    case "get":
        guard args.count == 7, let count = Int(args[6]) else { throw Failure(description: "get needs MSG_ID COUNT") }
        let url = "\(base)/cgi-bin/message/mass/get?access_token=\(token)"
        let body = ByteBuffer(string: "{\"msg_id\":\"\(args[5])\"}")
        for _ in 0..<count {
            let answer = try await post(client, url, body)
            guard answer.readableBytes > 0, stringField(answer, "msg_status") != nil else {
                throw Failure(description: "mass/get: \(String(buffer: answer))")
            }
            calls += 1
            bytesSent += body.readableBytes
        }
    default:
        guard args.count == 6 else { throw Failure(description: "send needs DIR") }
        let directory = args[5]
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasPrefix("body-") && $0.hasSuffix(".json") }.sorted()
        guard !names.isEmpty else { throw Failure(description: "no body-*.json in \(directory)") }
        let url = "\(base)/cgi-bin/message/mass/send?access_token=\(token)"
        for name in names {
            // Each body is read when it is sent, as a streaming sender would.
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
                throw Failure(description: "cannot read \(name)")
            }
            let body = ByteBuffer(bytes: data)
            let answer = try await post(client, url, body)
            guard errcode(answer) == 0 else { throw Failure(description: "mass/send: \(String(buffer: answer))") }
            calls += 1
            bytesSent += data.count
        }
    }
    let t2 = clock.now
    let callsMS = milliseconds(t2 - t1)
    print(
        "bare \(mode): \(calls) calls ok, \(bytesSent) request bytes; token \(fixed(milliseconds(t1 - t0))) ms, "
            + "calls \(fixed(callsMS)) ms (\(fixed(callsMS * 1000 / Double(max(1, calls)))) µs a call), "
            + "total \(fixed(milliseconds(t2 - t0))) ms")
    // Like masscast's shared client, this one is not shut down: the process ends here.
} catch {
    FileHandle.standardError.write(Data("runner-bench-bare: \(error) (after \(calls) calls)\n".utf8))
    exit(1)
}
