import Foundation
import MasscastTesting
import Testing

@testable import Audience

@Suite("Spool files a killed run left")
struct SpoolFolderTests {
    @Test("the next scan removes spools of dead processes of this host and old nameless ones; live, foreign and recent ones stay")
    func removeStale() async throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        // A pid that has surely ended: a child that already exited.
        let child = try BinaryProcess([], executable: "/bin/true", environment: [:], directory: URL(fileURLWithPath: "/"))
        let ended = await child.wait(timeout: .seconds(60))
        #expect(ended.exited(0), "\(ended)")
        let dead = try #require(child.pid)
        let ownName = SpoolFolder.prefix(pid: getpid()) + "aaaaaa"
        let deadName = SpoolFolder.prefix(pid: dead) + "bbbbbb"
        let foreignName = "masscast-audience-other.host-\(dead)-cccccc"
        let oldLegacy = "masscast-audience-dddddd"
        let newLegacy = "masscast-audience-eeeeee"
        for name in [ownName, deadName, foreignName, oldLegacy, newLegacy, "unrelated.txt"] {
            try folder.write(name, "o4WmZ0aaaaaaaaaaaaaaaaaaaaaa\n")
        }
        let twoDaysAgo = Date().addingTimeInterval(-2 * 86_400)
        try FileManager.default.setAttributes(
            [.modificationDate: twoDaysAgo], ofItemAtPath: folder.path + "/" + oldLegacy)
        #expect(SpoolFolder.removeStale(in: folder.path) == 2)
        #expect(try folder.files().sorted() == [ownName, foreignName, newLegacy, "unrelated.txt"].sorted())
    }

    @Test("a scan's spool is named by host and process, mode 0600, and gone after the scan is removed")
    func spoolName() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = try folder.write("vip.txt", "o4WmZ0aaaaaaaaaaaaaaaaaaaaaa\no4WmZ0bbbbbbbbbbbbbbbbbbbbbb\n")
        let scan = try AudienceScanner.scan(AudienceSource(path: path), spoolDirectory: folder.path)
        let spool = try #require(try folder.files().first { $0.hasPrefix("masscast-audience-") })
        #expect(spool.hasPrefix(SpoolFolder.prefix(pid: getpid())))
        let mode = try FileManager.default.attributesOfItem(atPath: folder.path + "/" + spool)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        scan.removeSpool()
        #expect(try folder.files() == ["vip.txt"])
    }
}
