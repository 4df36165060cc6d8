// The spool file between the two passes: the unique OpenIDs, one a line, in
// first-occurrence order. Pass 1 appends to it; pass 2 (`AudienceBatches`) reads it back
// one batch at a time.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered appends to a new temp file (mode 0600, made by `mkstemp`).
///
/// A non-copyable struct rather than a class: its state is changed once per OpenID, and
/// struct accesses need no run-time exclusivity checks. Its `deinit` closes the file;
/// `discard()` also deletes it.
struct SpoolWriter: ~Copyable {
    let path: String
    private var fd: Int32
    private let buffer: UnsafeMutablePointer<UInt8>
    private static let capacity = 64 * 1024
    private var used = 0
    private(set) var bytesWritten: Int64 = 0
    /// The first write error (an errno); later appends are dropped.
    private var failure: Int32 = 0
    /// Keeps nothing: a spool for a check that only counts (``AudienceScanner/check(_:maxLines:)``).
    private let discards: Bool

    /// A spool that writes nothing and creates no file.
    init(discarding: Void) {
        path = ""
        fd = -1
        buffer = .allocate(capacity: 1)
        discards = true
    }

    init(directory: String?, audienceFile: String) throws(AudienceError) {
        let folder = directory ?? SpoolWriter.temporaryDirectory()
        let trimmedFolder = folder.hasSuffix("/") && folder.count > 1 ? String(folder.dropLast()) : folder
        // Named by host and process, so that a spool left by a process that was killed is
        // recognised and removed by the next scan in the folder (`SpoolFolder.removeStale`).
        var template = Array((trimmedFolder + "/" + SpoolFolder.prefix(pid: getpid()) + "XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            let code = errno
            throw AudienceError(
                file: audienceFile, code: .spool,
                message: "cannot create a spool file in \(trimmedFolder): \(POSIX.message(code))",
                hint: "the unique OpenIDs are kept in a temporary file between reading and sending; set TMPDIR to a writable folder"
            )
        }
        fd = descriptor
        // mkstemp creates the file with mode 0600; make sure whatever the platform.
        _ = fchmod(descriptor, 0o600)
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        buffer = .allocate(capacity: Self.capacity)
        discards = false
    }

    deinit {
        buffer.deallocate()
        if fd >= 0 { close(fd) }
    }

    static func temporaryDirectory() -> String {
        if let value = getenv("TMPDIR"), value.pointee != 0 {
            return String(cString: value)
        }
        return "/tmp"
    }

    /// Appends the bytes and a newline.
    @inline(__always)
    mutating func appendLine(_ bytes: UnsafeBufferPointer<UInt8>) {
        if discards { return }
        let needed = bytes.count + 1
        if used + needed > Self.capacity { flush() }
        if needed > Self.capacity {  // cannot happen for OpenIDs (at most 64 bytes); kept for safety
            write(bytes.baseAddress!, bytes.count)
            var newline = Bytes.newline
            write(&newline, 1)
            return
        }
        (buffer + used).update(from: bytes.baseAddress!, count: bytes.count)
        buffer[used + bytes.count] = Bytes.newline
        used += needed
    }

    private mutating func write(_ pointer: UnsafeRawPointer, _ count: Int) {
        guard failure == 0 else { return }
        let code = POSIX.writeAll(fd, pointer, count)
        if code != 0 { failure = code } else { bytesWritten += Int64(count) }
    }

    private mutating func flush() {
        if used > 0 { write(buffer, used) }
        used = 0
    }

    /// Flushes and closes the file; throws the first write error.
    mutating func finish(audienceFile: String) throws(AudienceError) {
        if discards { return }
        flush()
        if fd >= 0 {
            if close(fd) != 0, failure == 0 { failure = errno }
            fd = -1
        }
        if failure != 0 {
            throw AudienceError(
                file: audienceFile, code: .spool,
                message: "cannot write the spool file \(path): \(POSIX.message(failure))",
                hint: "the unique OpenIDs are kept in a temporary file between reading and sending; check the free space of its folder"
            )
        }
    }

    /// Closes and deletes the file (after a failed scan).
    mutating func discard() {
        if discards { return }
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        _ = path.withCString { unlink($0) }
    }
}

/// Pass 2: the batches of a scan, read from its spool file one at a time; memory is one
/// batch (plus a 64 KiB read buffer).
///
/// ```swift
/// let batches = try scan.batches()
/// while let batch = try batches.next() {
///     // send batch.openIDs as batch number batch.index
/// }
/// ```
///
/// Batches come in index order with the sizes of ``AudienceScan/batchSizes``. The file is
/// closed after the last batch, on an error, or when the value is released.
public final class AudienceBatches {
    /// The planned batch sizes, as in ``AudienceScan/batchSizes``.
    public let sizes: [Int]
    /// The index of the batch the next call to ``next()`` returns.
    public private(set) var nextIndex = 0

    private let audienceFile: String
    private let spoolPath: String
    private var fd: Int32
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity = 64 * 1024
    private var position = 0
    private var filled = 0
    private var carry: [UInt8] = []

    init(scan: AudienceScan) throws(AudienceError) {
        sizes = scan.batchSizes
        audienceFile = scan.source.path
        spoolPath = scan.spoolPath
        let descriptor = scan.spoolPath.withCString { open($0, O_RDONLY | O_CLOEXEC) }
        guard descriptor >= 0 else {
            let code = errno
            throw AudienceError(
                file: scan.source.path, code: .spool,
                message: "cannot open the spool file \(scan.spoolPath): \(POSIX.message(code))",
                hint: "the spool is removed by removeSpool() or by temp-folder cleaning; scan the audience file again"
            )
        }
        var info = stat()
        if fstat(descriptor, &info) != 0 || Int64(info.st_size) != scan.spoolBytes {
            close(descriptor)
            throw AudienceError(
                file: scan.source.path, code: .spool,
                message: "the spool file \(scan.spoolPath) changed since the scan",
                hint: "scan the audience file again"
            )
        }
        fd = descriptor
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
        if fd >= 0 { close(fd) }
    }

    /// How many batches there are in all.
    public var count: Int { sizes.count }

    /// The next batch, or `nil` after the last one.
    ///
    /// - Throws: ``AudienceError`` with code `.spool` when the spool cannot be read or ends
    ///   early; later calls then return `nil`.
    public func next() throws(AudienceError) -> AudienceBatch? {
        guard nextIndex < sizes.count, fd >= 0 else {
            closeFile()
            return nil
        }
        let size = sizes[nextIndex]
        var openIDs: [String] = []
        openIDs.reserveCapacity(size)
        while openIDs.count < size {
            if position == filled {
                let result = POSIX.read(fd, buffer, capacity)
                if result <= 0 {
                    closeFile()
                    let reason = result == 0 ? "it ends early" : POSIX.message(Int32(-result))
                    throw AudienceError(
                        file: audienceFile, code: .spool,
                        message: "cannot read batch \(nextIndex) from the spool file \(spoolPath): \(reason)",
                        hint: "scan the audience file again"
                    )
                }
                position = 0
                filled = result
            }
            let start = buffer + position
            let available = filled - position
            if let found = memchr(start, Int32(Bytes.newline), available) {
                let length = UnsafeMutableRawPointer(found) - UnsafeMutableRawPointer(start)
                if carry.isEmpty {
                    openIDs.append(String(decoding: UnsafeBufferPointer(start: start, count: length), as: UTF8.self))
                } else {
                    carry.append(contentsOf: UnsafeBufferPointer(start: start, count: length))
                    openIDs.append(String(decoding: carry, as: UTF8.self))
                    carry.removeAll(keepingCapacity: true)
                }
                position += length + 1
            } else {
                carry.append(contentsOf: UnsafeBufferPointer(start: start, count: available))
                position = filled
            }
        }
        let batch = AudienceBatch(index: nextIndex, openIDs: openIDs)
        nextIndex += 1
        if nextIndex == sizes.count { closeFile() }
        return batch
    }

    private func closeFile() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }
}


/// The folder spool files are made in, and the removal of those a killed process left.
public enum SpoolFolder {
    static let base = "masscast-audience-"

    /// This host's name, as spool names carry it (characters other than letters, digits,
    /// `-` and `.` replaced by `_`).
    static var host: String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "host" }
        let text = String(cString: name)
        return String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
    }

    /// `masscast-audience-<host>-<pid>-`.
    static func prefix(pid: Int32) -> String { "\(base)\(host)-\(pid)-" }

    /// Removes the spool files in `directory` that a process of this host left when it was
    /// killed (its pid no longer runs), and nameless older spool files (from masscast 0.1)
    /// more than a day old. Files of other hosts and of live processes are kept.
    /// - Returns: how many were removed.
    @discardableResult
    public static func removeStale(in directory: String? = nil, now: Double = Double(time(nil))) -> Int {
        let folder = directory ?? SpoolWriter.temporaryDirectory()
        guard let dir = opendir(folder) else { return 0 }
        defer { closedir(dir) }
        let hostPrefix = base + host + "-"
        var removed = 0
        while let entry = readdir(dir) {
            // The name read in place: glibc's entries are only as long as their name, so copying
            // the 256-byte `d_name` field can read past the end of readdir's buffer (a crash, seen
            // when a taking-over run cleared a killed run's spools).
            let name = String(
                cString: UnsafeRawPointer(entry).advanced(by: MemoryLayout<dirent>.offset(of: \dirent.d_name)!)
                    .assumingMemoryBound(to: CChar.self))
            guard name.hasPrefix(base) else { continue }
            let path = folder + "/" + name
            if name.hasPrefix(hostPrefix) {
                let rest = name.dropFirst(hostPrefix.count)
                guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]) else { continue }
                if pid == getpid() || kill(pid, 0) == 0 || errno == EPERM { continue }
            } else if name.count == base.count + 6 {
                // masscast 0.1's `masscast-audience-XXXXXX`: no owner to ask; only when old.
                var info = stat()
                guard stat(path, &info) == 0, now - Double(info.st_mtim.tv_sec) > 86_400 else { continue }
            } else {
                continue
            }
            if unlink(path) == 0 { removed += 1 }
        }
        return removed
    }
}
