// The reference point of the sandbox benchmark (Benchmarks/sandbox/run.sh): the least a
// Hummingbird 2 server does to answer a POST with JSON. One route, a constant body the
// size and shape of the sandbox's `mass/get` answer, and the sandbox's server
// configuration: HTTP/1.1, 127.0.0.1, a server name, warning-level logging.
//
// Usage: sandbox-bench-minimal PORT   (prints `listening on …` to stderr once bound)
import Foundation
import Hummingbird
import Logging

let arguments = CommandLine.arguments
guard arguments.count == 2, let port = Int(arguments[1]), (0...65_535).contains(port) else {
    FileHandle.standardError.write(Data("usage: sandbox-bench-minimal PORT\n".utf8))
    exit(2)
}

// What the sandbox answers to `mass/get` for a finished job, byte for byte, with its content type.
let body = ByteBuffer(string: #"{"msg_id":1000000001,"msg_status":"SEND_SUCCESS"}"#)
var headers = HTTPFields()
headers[.contentType] = "application/json; encoding=utf-8"
let fields = headers

let router = Router()
router.post("/cgi-bin/message/mass/get") { _, _ -> Response in
    Response(status: .ok, headers: fields, body: .init(byteBuffer: body))
}

var logger = Logger(label: "sandbox-bench-minimal")
logger.logLevel = .warning
let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "sandbox-bench-minimal"),
    onServerRunning: { channel in
        let bound = channel.localAddress?.port ?? port
        FileHandle.standardError.write(Data("sandbox-bench-minimal: listening on http://127.0.0.1:\(bound)\n".utf8))
    },
    logger: logger)
try await app.runService()
