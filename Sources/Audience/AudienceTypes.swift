// The public values of the Audience module: where an audience comes from, what a scan
// found, and the batches it is sent in.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a `mass/send` audience is read from: `touser_file` (one OpenID a line) or, with
/// `touser_column`, a CSV file's named column.
public struct AudienceSource: Sendable, Hashable {
    /// The file's path, as given (relative paths are resolved against the current
    /// directory); it is also the file name used in error messages.
    public var path: String
    /// The CSV column holding the OpenIDs (`touser_column`); `nil` for a file of one
    /// OpenID a line.
    public var csvColumn: String?

    /// - Parameters:
    ///   - path: The file's path.
    ///   - csvColumn: The header name of the column to read, or `nil` for one OpenID a line.
    public init(path: String, csvColumn: String? = nil) {
        self.path = path
        self.csvColumn = csvColumn
    }
}

/// Where a scan is, given to the `progress` callback of ``AudienceScanner/scan(_:maxBatchSize:spoolDirectory:progress:)``
/// about once a MiB and once at the end (then `bytesRead` is the file's size).
public struct AudienceProgress: Sendable, Hashable {
    /// Bytes of the file read so far.
    public var bytesRead: Int64
    /// The file's size when it was opened (0 if it is not a regular file).
    public var totalBytes: Int64
    /// Physical lines read so far.
    public var linesRead: Int

    public init(bytesRead: Int64, totalBytes: Int64, linesRead: Int) {
        self.bytesRead = bytesRead
        self.totalBytes = totalBytes
        self.linesRead = linesRead
    }
}

/// One batch of a `mass/send`: its 0-based index (part of the idempotency key) and its
/// OpenIDs, in first-occurrence order.
public struct AudienceBatch: Sendable, Hashable {
    /// 0-based position of the batch; the same file always gives the same batches in the
    /// same order.
    public var index: Int
    /// The batch's OpenIDs (2 to the maximum batch size, no duplicates).
    public var openIDs: [String]

    public init(index: Int, openIDs: [String]) {
        self.index = index
        self.openIDs = openIDs
    }
}

/// The result of pass 1 over an audience file: counts, the batch plan and a spool file
/// holding the unique OpenIDs (one a line, in first-occurrence order).
///
/// Pass 2 is ``batches()``, which reads the spool one batch at a time. The spool stays
/// until ``removeSpool()`` is called; `batches()` may be called any number of times
/// before that and always yields the same batches.
public struct AudienceScan: Sendable {
    /// The file that was scanned.
    public internal(set) var source: AudienceSource
    /// OpenIDs after removing duplicates: the number of recipients.
    public internal(set) var uniqueCount: Int
    /// Valid OpenIDs dropped because they occurred earlier in the file.
    public internal(set) var duplicateCount: Int
    /// Lines skipped as blank (empty or only spaces and tabs); in CSV mode also the rows
    /// whose cell in the column is empty.
    public internal(set) var skippedBlankLines: Int
    /// Physical lines in the file (a last line without a newline counts; in CSV mode the
    /// header counts).
    public internal(set) var linesRead: Int
    /// Lowercase hex SHA-256 of the file's bytes, as read.
    public internal(set) var sourceDigest: String
    /// The planned batch sizes (see ``BatchPlan/sizes(count:maxBatchSize:)``): balanced,
    /// larger first, each at least 2; they add up to ``uniqueCount``.
    public internal(set) var batchSizes: [Int]
    /// The largest batch size the plan was made with.
    public internal(set) var maxBatchSize: Int
    /// Path of the spool file (mode 0600): the unique OpenIDs, one a line.
    public internal(set) var spoolPath: String
    /// Size of the spool file in bytes, checked when it is read back.
    internal var spoolBytes: Int64

    /// Opens the spool for pass 2: the batches, read one at a time.
    ///
    /// - Throws: ``AudienceError`` with code `.spool` when the spool file is gone or has
    ///   changed since the scan.
    public func batches() throws(AudienceError) -> AudienceBatches {
        try AudienceBatches(scan: self)
    }

    /// Deletes the spool file. Calling it again, or after the file is gone, does nothing.
    /// Batches already being read keep working on POSIX systems until they are released.
    public func removeSpool() {
        _ = spoolPath.withCString { unlink($0) }
    }
}

/// What ``AudienceScanner/check(_:maxLines:)`` found: counts over the lines it read.
public struct AudienceCheck: Sendable, Hashable {
    /// OpenIDs after removing duplicates, among the lines read: the number of recipients
    /// when ``complete``.
    public var uniqueCount: Int
    /// Valid OpenIDs dropped because they occurred earlier in the lines read.
    public var duplicateCount: Int
    /// Physical lines read (with a CSV's header).
    public var linesRead: Int
    /// Whether the whole file was read (`false` when the check stopped at its line limit).
    public var complete: Bool

    public init(uniqueCount: Int, duplicateCount: Int, linesRead: Int, complete: Bool) {
        self.uniqueCount = uniqueCount
        self.duplicateCount = duplicateCount
        self.linesRead = linesRead
        self.complete = complete
    }
}
