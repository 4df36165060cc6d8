import Foundation
import MasscastTesting
import Testing

/// `masscast init` in a repository someone else prepared: the files it reads and rewrites
/// (masscast.yaml, .gitignore) may be symbolic links or FIFOs. The built binary.
@Suite("masscast init: files it does not own")
struct InitCommandTests {
    /// A repository folder and, beside it (outside), a private file.
    struct Folders {
        let root: String
        let repo: String
        let outside: String

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-init-\(UUID().uuidString)").path
            repo = root + "/repo"
            outside = root + "/home/id_ed25519"
            try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root + "/home", withIntermediateDirectories: true)
            try "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n".write(toFile: outside, atomically: true, encoding: .utf8)
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }

        func run(_ arguments: [String]) async throws -> BinaryResult {
            let process = try BinaryProcess(arguments, environment: MasscastBinary.environment(), directory: URL(fileURLWithPath: repo))
            return await process.wait(timeout: .seconds(60))
        }
    }

    @Test("a .gitignore or masscast.yaml that is a symbolic link out of the repository is neither read nor replaced; nothing is written")
    func symbolicLinks() async throws {
        let folders = try Folders()
        defer { folders.remove() }
        let keyBefore = try String(contentsOfFile: folders.outside, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: folders.repo + "/.gitignore", withDestinationPath: folders.outside)

        // Before, init wrote masscast.yaml, then copied the key into a regular .gitignore
        // (read through the link, written over it), ready to be committed.
        let refused = try await folders.run(["init"])
        #expect(refused.exited(2), "\(refused)")
        #expect(refused.err.contains(".gitignore is a symbolic link (to \(folders.outside))"), "\(refused)")
        #expect(refused.err.contains("add `.masscast/` to it yourself"), "\(refused)")
        #expect(!refused.out.contains("PRIVATE KEY") && !refused.err.contains("PRIVATE KEY"))
        let attributes = try FileManager.default.attributesOfItem(atPath: folders.repo + "/.gitignore")
        #expect(attributes[.type] as? FileAttributeType == .typeSymbolicLink, "the link is left as it is")
        #expect(try String(contentsOfFile: folders.outside, encoding: .utf8) == keyBefore, "the file it leads to is unchanged")
        #expect(!FileManager.default.fileExists(atPath: folders.repo + "/masscast.yaml"), "nothing was written")

        // masscast.yaml as a link: the same.
        try FileManager.default.removeItem(atPath: folders.repo + "/.gitignore")
        let config = folders.root + "/home/masscast.yaml"
        try "version: 1\n".write(toFile: config, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: folders.repo + "/masscast.yaml", withDestinationPath: config)
        let linkedConfig = try await folders.run(["init"])
        #expect(linkedConfig.exited(2) && linkedConfig.err.contains("masscast.yaml is a symbolic link"), "\(linkedConfig)")
        #expect(try String(contentsOfFile: config, encoding: .utf8) == "version: 1\n")
        #expect(!FileManager.default.fileExists(atPath: folders.repo + "/.gitignore"))

        // Regular files: init does its work.
        try FileManager.default.removeItem(atPath: folders.repo + "/masscast.yaml")
        let done = try await folders.run(["init"])
        #expect(done.exited(0), "\(done)")
        #expect(try String(contentsOfFile: folders.repo + "/.gitignore", encoding: .utf8) == ".masscast/\n")
    }

    @Test("a .gitignore that is a FIFO is named by its type at once (init does not wait on it)")
    func fifo() async throws {
        let folders = try Folders()
        defer { folders.remove() }
        #expect(mkfifo(folders.repo + "/.gitignore", 0o644) == 0)
        let refused = try await folders.run(["init"])
        #expect(!refused.timedOut && refused.exited(2), "\(refused)")
        #expect(refused.err.contains(".gitignore is a FIFO (named pipe), not a regular file"), "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: folders.repo + "/masscast.yaml"))
    }
}
