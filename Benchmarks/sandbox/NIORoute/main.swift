// A floor under the floor of the sandbox benchmark (Benchmarks/sandbox/floors.sh): the same
// answer as sandbox-bench-minimal, from SwiftNIO's HTTP/1.1 server pipeline with one channel
// handler and nothing else: no router, no request context, no async task per request. Set
// beside the minimal Hummingbird route, it says how much of a request's cost is the
// framework and how much is NIO itself (sockets, HTTP parsing, writes).
//
// Usage: sandbox-bench-nio PORT   (prints `listening on …` to stderr once bound)
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

let arguments = CommandLine.arguments
guard arguments.count == 2, let port = Int(arguments[1]), (0...65_535).contains(port) else {
    FileHandle.standardError.write(Data("usage: sandbox-bench-nio PORT\n".utf8))
    exit(2)
}

/// Answers `POST /cgi-bin/message/mass/get` with the minimal route's body and headers (its
/// content type, its server name, a date), anything else with 404; the connection stays open.
final class Route: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let body = ByteBuffer(string: #"{"msg_id":1000000001,"msg_status":"SEND_SUCCESS"}"#)
    private var found = false
    private var keepAlive = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            found = head.method == .POST && head.uri.utf8.starts(with: "/cgi-bin/message/mass/get".utf8)
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json; encoding=utf-8")
            headers.add(name: "content-length", value: found ? String(Self.body.readableBytes) : "0")
            headers.add(name: "server", value: "sandbox-bench-nio")
            headers.add(name: "date", value: HTTPDate.now)
            let head = HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if found { context.write(wrapOutboundOut(.body(.byteBuffer(Self.body))), promise: nil) }
            let keepAlive = self.keepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [context] _ in
                if !keepAlive { context.close(promise: nil) }
            }
        }
    }
}

/// The `date` header's value, as RFC 9110 gives it (Hummingbird's server writes one too).
enum HTTPDate {
    static var now: String {
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
            try channel.pipeline.syncOperations.addHandler(Route())
        }
    }
let channel = try await bootstrap.bind(host: "127.0.0.1", port: port).get()
let bound = channel.localAddress?.port ?? port
FileHandle.standardError.write(Data("sandbox-bench-nio: listening on http://127.0.0.1:\(bound)\n".utf8))
try await channel.closeFuture.get()
