import FileChecks
import Foundation
import Testing

@Suite("RegularFile: opening the files a pipeline names")
struct RegularFileTests {
    @Test("a regular file opens and reads; anything else is named by its type, a FIFO without waiting")
    func kinds() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-regular-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "hello".write(toFile: dir + "/a.txt", atomically: true, encoding: .utf8)
        #expect(mkfifo(dir + "/pipe", 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/a.txt")

        let handle = try RegularFile.open(dir + "/a.txt").get()
        #expect(try handle.readToEnd() == Data("hello".utf8))
        // A symbolic link to a regular file is that file (where it may lead is checked elsewhere).
        #expect(try RegularFile.open(dir + "/link").get().readToEnd() == Data("hello".utf8))

        func failure(_ path: String) -> RegularFile.Failure? {
            if case .failure(let failure) = RegularFile.open(path) { return failure }
            return nil
        }
        #expect(failure(dir + "/missing") == .missing)
        #expect(failure(dir + "/a.txt/below") == .missing)
        #expect(failure(dir) == .notRegular("a folder"))
        #expect(failure(dir + "/pipe") == .notRegular("a FIFO (named pipe)"))
        #expect(failure("/dev/null") == .notRegular("a character device"))
        #expect(failure(dir + "/pipe")?.description == "it is a FIFO (named pipe), not a regular file")
    }
}
