// libFuzzer target: the audience reader (`touser_file`): an OpenID list, or a CSV with an
// `openid` column. The input is written to a file and read as validate reads it
// (`AudienceScanner.check`) and as a run reads it (`scan`, its spool and batches). Both must
// agree on the count, and the batches must hold every unique OpenID once.
//
// Input: the first byte picks the reading (even: a list, odd: a CSV column `openid`), the
// rest is the file.
import Audience
import Foundation
import FuzzDriver

private let directory: String = {
    let path = NSTemporaryDirectory() + "masscast-fuzz-audience-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAudience(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    guard size >= 1 else { return 0 }
    let csv = data[0] % 2 == 1
    let file = directory + (csv ? "/audience.csv" : "/audience.txt")
    let contents = Data(bytes: data + 1, count: size - 1)
    guard FileManager.default.createFile(atPath: file, contents: contents) else { fatalError("cannot write \(file)") }
    let source = AudienceSource(path: file, csvColumn: csv ? "openid" : nil)

    let check = try? AudienceScanner.check(source)
    do {
        // Small batches, so that the batch planner is exercised too.
        let scan = try AudienceScanner.scan(source, maxBatchSize: 3, spoolDirectory: directory)
        defer { scan.removeSpool() }
        if let check {
            precondition(check.uniqueCount == scan.uniqueCount, "check and scan disagree on the count")
        } else {
            preconditionFailure("scan accepted what check refused")
        }
        precondition(scan.batchSizes.reduce(0, +) == scan.uniqueCount, "batches do not add up")
        precondition(scan.batchSizes.allSatisfy { $0 >= 2 && $0 <= 3 } || scan.uniqueCount < 2, "a batch out of 2...3")
    } catch {
        // Refused: check must not have accepted a file with problem lines either (it may
        // accept a file whose only problem is fewer than two OpenIDs, which scan refuses).
        _ = error
    }
    return 0
}

@main
enum FuzzAudienceMain {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzAudience))
    }
}
