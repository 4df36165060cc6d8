import Foundation
import Testing
import WeChatMP
import ServiceHost
import WeChatSandbox

@Suite("The in-process sandbox server")
struct RunningSandboxTests {
    @Test("a second sandbox on a port already taken fails with the address and the reason, instead of waiting forever")
    func portTakenFails() async throws {
        let first = try await RunningSandbox.start(engine: SandboxEngine(fixture: .default))
        defer { Task { await first.stop() } }
        let outcome = await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    let second = try await RunningSandbox.start(engine: SandboxEngine(fixture: .default), port: first.port)
                    await second.stop()
                    return "started"
                } catch let error as ServiceStartError {
                    #expect(error.code == .couldNotBind && error.address == "127.0.0.1:\(first.port)")
                    return "\(error)"
                } catch {
                    return "another error: \(error)"
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(20))
                return nil  // still waiting: the bug this test pins
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        let message = try #require(outcome, "RunningSandbox.start waited 20 s on a taken port")
        #expect(message.hasPrefix("the sandbox server did not start on 127.0.0.1:\(first.port): "), "\(message)")
        #expect(message.localizedCaseInsensitiveContains("address already in use"), "\(message)")
    }

    @Test("a started sandbox answers on its base URL, and stops")
    func startsAndStops() async throws {
        let sandbox = try await RunningSandbox.start(engine: SandboxEngine(fixture: .default))
        #expect(sandbox.baseURL == "http://127.0.0.1:\(sandbox.port)")
        let response = try await AsyncHTTPTransport().send(
            TransportRequest(method: .get, url: sandbox.baseURL + "/sandbox/accounts", timeout: .seconds(10)))
        #expect(response.status == 200)
        await sandbox.stop()
    }
}
