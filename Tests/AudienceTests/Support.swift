import Audience
import Foundation

/// A temp folder for one test's files (and spools), removed by `remove()`.
struct TempFolder {
    let path: String

    init() throws {
        let base = NSTemporaryDirectory() + "masscast-audience-tests-XXXXXX"
        var template = Array(base.utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, bytes: Array(text.utf8))
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// Names of the files in the folder.
    func files() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// All batches of a scan, read through pass 2.
func allBatches(_ scan: AudienceScan) throws -> [AudienceBatch] {
    let batches = try scan.batches()
    var result: [AudienceBatch] = []
    while let batch = try batches.next() { result.append(batch) }
    return result
}

/// Scans, expecting an error, and returns it.
func scanError(
    _ source: AudienceSource, maxBatchSize: Int = 10_000, spoolDirectory: String? = nil
) -> AudienceError? {
    do {
        let scan = try AudienceScanner.scan(source, maxBatchSize: maxBatchSize, spoolDirectory: spoolDirectory)
        scan.removeSpool()
        return nil
    } catch {
        return error
    }
}

/// Deterministic OpenIDs like WeChat's: `o4WmZ0` and 22 characters of A-Z a-z 0-9 _ -.
struct OpenIDGenerator {
    private var state: UInt64
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    init(seed: UInt64) { state = seed }

    /// SplitMix64.
    mutating func nextWord() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> String {
        var bytes = Array("o4WmZ0".utf8)
        var word = nextWord()
        for index in 0..<22 {
            if index == 10 { word = nextWord() }
            bytes.append(Self.alphabet[Int(word & 63)])
            word >>= 6
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A thread-safe list, for values given to @Sendable callbacks.
final class Recorder<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Value] = []

    func append(_ value: Value) {
        lock.lock()
        stored.append(value)
        lock.unlock()
    }

    var values: [Value] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}

/// `count` distinct valid OpenIDs, short and readable: `user000001`, `user000002`, …
func sampleIDs(_ count: Int, prefix: String = "user") -> [String] {
    (1..<(count + 1)).map { prefix + String(format: "%06d", $0) }
}
