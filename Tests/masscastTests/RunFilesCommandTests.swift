import Foundation
import MasscastTesting
import Testing

/// What `run` and `plan` do with a file a pipeline names that is not a regular file. The
/// built binary against a sandbox in this process.
@Suite("run and plan: the files a pipeline reads")
struct RunFilesCommandTests {
    @Test("a content_file that is a FIFO fails its step at once, named by its type; run and plan do not wait for a writer")
    func fifoContentFile() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write("pipelines/fifo.yaml", AllowedPathsCommandTests.pipeline("fifo", contentFile: "notice.txt"))
            let fifo = (pipeline as NSString).deletingLastPathComponent + "/notice.txt"
            #expect(mkfifo(fifo, 0o644) == 0)
            // Before, run opened it with a plain open(2), which waits for a writer for ever, and
            // SIGTERM could not end the run (its step never finished).
            let run = await ws.finish(try ws.start(["run", pipeline] + ws.common), timeout: .seconds(30))
            #expect(!run.timedOut && run.exited(1), "\(run)")
            let message = run.events("step.finished", step: "send").first?["msg"] as? String ?? ""
            #expect(message.contains("notice.txt is a FIFO (named pipe), not a regular file"), "\(run)")
            #expect(try await ws.sends().isEmpty)
            let plan = await ws.finish(
                try ws.start(["plan", pipeline, "--config", ws.configPath, "--state", ws.statePath]), timeout: .seconds(30))
            #expect(!plan.timedOut && !plan.exited(0), "\(plan)")
            #expect(plan.out.contains("is a FIFO (named pipe), not a regular file"), "\(plan)")
        }
    }
}
