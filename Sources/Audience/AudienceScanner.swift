// Pass 1: the audience file read as a stream, validated, de-duplicated, spooled.

import Crypto
import PipelineCore
import WeChatLimits

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a `mass/send` audience (`touser_file`, optionally with `touser_column`) as a
/// stream and plans its batches.
///
/// The rules:
/// - One OpenID a line, or in CSV mode the named column of each row after the header row.
/// - Blank lines (empty or only spaces and tabs) are skipped, as are CSV rows whose cell is
///   empty. Spaces and tabs around an OpenID, a trailing `\r` (CRLF files) and a UTF-8 BOM
///   at the start of the file are ignored. There are no comments: a `#` line is a
///   malformed OpenID.
/// - OpenIDs are 6 to 64 characters of `A-Z a-z 0-9 _ -`. Every malformed OpenID, line of
///   invalid UTF-8, line longer than 4,096 bytes and unreadable CSV row is collected;
///   if there is any, the scan fails listing the first 20 and counting all. Nothing is
///   sent from a file with errors.
/// - Duplicates are removed exactly (a set of 128-bit keyed hashes), keeping the
///   first occurrence, in file order.
/// - CSV: RFC 4180 with `,` as separator; the first non-blank row is the header and must
///   have the named column (exact match after trimming spaces and tabs); quoted cells may
///   hold commas and `""`, but not line breaks; every row must have as many cells as the
///   header. Line numbers are physical lines of the file.
///
/// Memory stays bounded whatever the file's size: 64 KiB read and write buffers, one line
/// of at most 4,096 bytes, and 16 bytes (plus the set's overhead) per unique OpenID — about
/// 32 MiB for a million. The unique OpenIDs go to a spool file; pass 2
/// (``AudienceScan/batches()``) reads them back one batch at a time.
public enum AudienceScanner {
    /// The longest line accepted, in bytes, without its line break (`\n` or `\r\n`).
    public static let maxLineBytes = 4096

    static let readChunkBytes = 64 * 1024
    static let progressIntervalBytes: Int64 = 1 << 20

    /// Pass 1: reads, validates and de-duplicates the audience, writes the unique OpenIDs to
    /// a spool file and plans the batches.
    ///
    /// - Parameters:
    ///   - source: The file, and the CSV column if it is a CSV.
    ///   - maxBatchSize: The largest batch (WeChat's limit, 10,000, unless testing); see
    ///     ``BatchPlan/sizes(count:maxBatchSize:)``.
    ///   - spoolDirectory: Where to create the spool file; `nil` for `TMPDIR` or `/tmp`.
    ///   - progress: Called about once per MiB read and once at the end.
    /// - Returns: The counts, the batch plan and the spool; call
    ///   ``AudienceScan/removeSpool()`` when done with the batches.
    /// - Throws: ``AudienceError``: the file is missing or unreadable, has problem lines,
    ///   lacks the CSV column, or has fewer than 2 unique OpenIDs. No spool is left behind.
    public static func scan(
        _ source: AudienceSource,
        maxBatchSize: Int = WeChatLimits.MassSend.maxOpenIDs,
        spoolDirectory: String? = nil,
        progress: (@Sendable (AudienceProgress) -> Void)? = nil
    ) throws(AudienceError) -> AudienceScan {
        let file = source.path
        let fd = source.path.withCString { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                throw AudienceError(
                    file: file, code: .notFound, message: "audience file not found",
                    hint: "check the path given in touser_file"
                )
            }
            throw AudienceError(file: file, code: .unreadable, message: "cannot open the audience file: \(POSIX.message(code))")
        }
        defer { close(fd) }

        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            throw AudienceError(file: file, code: .unreadable, message: "cannot read the audience file: \(POSIX.message(code))")
        }
        if POSIX.isDirectory(info.st_mode) {
            throw AudienceError(
                file: file, code: .unreadable, message: "the audience file is a folder",
                hint: "touser_file takes a file of one OpenID a line (or a CSV with touser_column)"
            )
        }
        let totalBytes: Int64 = POSIX.isRegular(info.st_mode) ? Int64(info.st_size) : 0

        // Problems quote a masked fragment only: the file may not be what it claims (a path
        // to the environment or a key file), and messages reach logs, the store and reports.
        var processor = LineProcessor(
            source: source, spool: try SpoolWriter(directory: spoolDirectory, audienceFile: file), masksOpenIDs: true
        )
        var succeeded = false
        defer { if !succeeded { processor.spool.discard() } }
        if source.csvColumn == nil, totalBytes > 0 {
            // Typical lines are a 28-character OpenID and a newline: reserving for that
            // avoids the set's regrowth (and its brief doubling of memory) on big files.
            processor.reserve(Int(totalBytes / 29))
        }

        let digest = try readLines(fd: fd, totalBytes: totalBytes, file: file, into: &processor,
                                   maxLines: nil, progress: progress).digest

        try processor.finish()
        try processor.spool.finish(audienceFile: file)

        let unique = processor.uniqueCount
        let scan = AudienceScan(
            source: source,
            uniqueCount: unique,
            duplicateCount: processor.duplicateCount,
            skippedBlankLines: processor.blankCount,
            linesRead: processor.lineNumber,
            sourceDigest: digest,
            batchSizes: BatchPlan.sizes(count: unique, maxBatchSize: maxBatchSize),
            maxBatchSize: Swift.max(3, maxBatchSize),
            spoolPath: processor.spool.path,
            spoolBytes: processor.spool.bytesWritten
        )
        succeeded = true
        return scan
    }

    /// Reads the open file `fd` line by line into `processor`, stopping after `maxLines`
    /// physical lines when given. Returns the SHA-256 of the bytes read and whether the
    /// whole file was read.
    private static func readLines(
        fd: Int32, totalBytes: Int64, file: String, into processor: inout LineProcessor, maxLines: Int?,
        progress: (@Sendable (AudienceProgress) -> Void)?
    ) throws(AudienceError) -> (digest: String, complete: Bool) {
        var complete = true
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: readChunkBytes, alignment: 16)
        defer { chunk.deallocate() }
        let base = chunk.baseAddress!.assumingMemoryBound(to: UInt8.self)
        // A line split across chunks; at most maxLineBytes plus a BOM and a `\r`.
        let carryLimit = maxLineBytes + 4
        var carry: [UInt8] = []
        carry.reserveCapacity(carryLimit + 1)
        var carryOverlong = false
        var fileHasher = SHA256()
        var bytesRead: Int64 = 0
        var lastReported: Int64 = 0

        reading: while true {
            let count = POSIX.read(fd, base, readChunkBytes)
            if count < 0 {
                throw AudienceError(
                    file: file, line: processor.lineNumber + 1, code: .unreadable,
                    message: "cannot read the audience file: \(POSIX.message(Int32(-count)))"
                )
            }
            if count == 0 { break }
            fileHasher.update(bufferPointer: UnsafeRawBufferPointer(start: base, count: count))
            bytesRead += Int64(count)

            var start = 0
            while start < count {
                let remaining = count - start
                if let found = memchr(base + start, Int32(Bytes.newline), remaining) {
                    let end = UnsafeMutableRawPointer(found) - UnsafeMutableRawPointer(base)
                    let piece = UnsafeBufferPointer(start: base + start, count: end - start)
                    if carryOverlong {
                        try processor.overlongLine()
                        carryOverlong = false
                    } else if carry.isEmpty {
                        try processor.line(piece)
                    } else if carry.count + piece.count > carryLimit {
                        carry.removeAll(keepingCapacity: true)
                        try processor.overlongLine()
                    } else {
                        carry.append(contentsOf: piece)
                        try carry.withUnsafeBufferPointer { (line) throws(AudienceError) in try processor.carriedLine(line) }
                        carry.removeAll(keepingCapacity: true)
                    }
                    start = end + 1
                    if let maxLines, processor.lineNumber >= maxLines { complete = false; break reading }
                } else {
                    if !carryOverlong {
                        if carry.count + remaining > carryLimit {
                            carry.removeAll(keepingCapacity: true)
                            carryOverlong = true
                        } else {
                            carry.append(contentsOf: UnsafeBufferPointer(start: base + start, count: remaining))
                        }
                    }
                    start = count
                }
            }

            // The OpenIDs still pending point into the buffer the next read overwrites.
            processor.flushPending()
            if let progress, bytesRead - lastReported >= progressIntervalBytes {
                lastReported = bytesRead
                progress(AudienceProgress(bytesRead: bytesRead, totalBytes: totalBytes, linesRead: processor.lineNumber))
            }
        }
        processor.flushPending()
        // The last line, without a trailing newline.
        if !complete {
            // Stopped at maxLines: the rest is not read.
        } else if carryOverlong {
            try processor.overlongLine()
        } else if !carry.isEmpty {
            try carry.withUnsafeBufferPointer { (line) throws(AudienceError) in try processor.carriedLine(line) }
        }
        if let progress, bytesRead != lastReported || bytesRead == 0 {
            progress(AudienceProgress(bytesRead: bytesRead, totalBytes: totalBytes, linesRead: processor.lineNumber))
        }

        return (Bytes.hex(fileHasher.finalize()), complete)
    }

    /// Checks an audience file without keeping anything: the same rules as
    /// ``scan(_:maxBatchSize:spoolDirectory:progress:)`` (the CSV header and its column,
    /// well-formed OpenIDs, UTF-8, line length, CSV rows), over the first `maxLines`
    /// physical lines or, when `maxLines` is `nil`, the whole file, which then must hold at
    /// least 2 unique OpenIDs. Used by `masscast validate` before anything is sent.
    ///
    /// Unlike `scan`, messages never quote an OpenID in full: a malformed one is shown as
    /// its first characters and `…` (an audience file could hold anything), and the file
    /// must be a regular file; a FIFO or a device is refused without blocking on it.
    ///
    /// - Throws: ``AudienceError``, as `scan` does (with `.unreadable` for a file that is
    ///   not a regular file); never `.spool`.
    public static func check(
        _ source: AudienceSource, maxLines: Int? = nil,
        progress: (@Sendable (AudienceProgress) -> Void)? = nil
    ) throws(AudienceError) -> AudienceCheck {
        let file = source.path
        // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        let fd = source.path.withCString { open($0, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                throw AudienceError(file: file, code: .notFound, message: "audience file not found",
                                    hint: "check the path given in touser_file")
            }
            throw AudienceError(file: file, code: .unreadable, message: "cannot open the audience file: \(POSIX.message(code))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            throw AudienceError(file: file, code: .unreadable, message: "cannot read the audience file: \(POSIX.message(code))")
        }
        guard POSIX.isRegular(info.st_mode) else {
            throw AudienceError(file: file, code: .unreadable, message: "the audience file is not a regular file",
                                hint: "touser_file takes a file of one OpenID a line (or a CSV with touser_column)")
        }
        var processor = LineProcessor(source: source, spool: SpoolWriter(discarding: ()), masksOpenIDs: true)
        if source.csvColumn == nil, maxLines == nil { processor.reserve(Int(info.st_size / 29)) }
        let read = try readLines(fd: fd, totalBytes: Int64(info.st_size), file: file, into: &processor,
                                 maxLines: maxLines, progress: progress)
        try processor.finish(countsChecked: read.complete)
        return AudienceCheck(uniqueCount: processor.uniqueCount, duplicateCount: processor.duplicateCount,
                             linesRead: processor.lineNumber, complete: read.complete)
    }
}

/// The de-duplication key of an OpenID: 128 bits, its SipHash-1-3 with a 128-bit output
/// (``SipHash128``) under a key drawn at random for each scan. Equal OpenIDs have equal
/// keys; two different OpenIDs share one with probability about 2⁻¹²⁸ per pair, and as the
/// key is secret no file can be made to collide on purpose. (A SHA-256 per OpenID, at
/// first, cost about a third of the time of scanning a million; two 64-bit SipHashes
/// through Swift's `Hasher`, after that, about a fifth.)
struct OpenIDDigest: Hashable {
    var high: UInt64
    var low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    @inline(__always)
    init(_ bytes: UnsafeBufferPointer<UInt8>, key: SipKey) {
        (high, low) = SipHash128.hash(UnsafeRawBufferPointer(bytes), key: key)
    }

    // The words are uniformly distributed already: one is enough for the hash table.
    func hash(into hasher: inout Hasher) {
        hasher.combine(high)
    }
}

/// The set of the OpenID keys seen so far: a flat open-addressing table of 128-bit keys
/// (two words per slot, linear probing, at most half full) in one allocation, without the
/// per-element overhead of a `Set` (its hashing of each key again, its buckets and
/// metadata) or an array's uniqueness and bounds checks on every write. The key's `high`
/// word is uniformly distributed (a keyed SipHash), so it indexes the table directly.
/// A slot is empty while both its words are 0; the all-zero key itself is kept apart
/// (`hasZero`), so it is never confused with an empty slot.
struct DigestTable: ~Copyable {
    private var words: UnsafeMutablePointer<UInt64>
    private var mask: Int
    private(set) var count = 0
    private var hasZero = false

    init() {
        mask = 1023
        (words, mapped) = Self.allocate(slots: 1024)
    }

    deinit { Self.free(words, slots: mask + 1, mapped: mapped) }

    /// Whether `words` was mapped by ``mapAligned(_:)`` (else allocated).
    private var mapped = false

    /// Zeroed memory for `slots` slots. A large table (a million OpenIDs take 32 MiB) is
    /// mapped on its own, aligned to 2 MiB and marked for transparent huge pages where the
    /// kernel has them: every insert reads a random slot, and with 4 KiB pages nearly each
    /// one also missed the TLB (a costly page walk on a virtual machine).
    private static func allocate(slots: Int) -> (words: UnsafeMutablePointer<UInt64>, mapped: Bool) {
        let bytes = 16 * slots
        if bytes >= hugePage, let start = mapAligned(bytes) {
            return (start.bindMemory(to: UInt64.self, capacity: 2 * slots), true)
        }
        let pointer = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * slots)
        pointer.initialize(repeating: 0, count: 2 * slots)
        return (pointer, false)
    }

    private static let hugePage = 2 << 20

    private static func free(_ words: UnsafeMutablePointer<UInt64>, slots: Int, mapped: Bool) {
        if mapped {
            munmap(UnsafeMutableRawPointer(words), 16 * slots)
        } else {
            words.deallocate()
        }
    }

    /// An anonymous mapping of `bytes` (a multiple of 2 MiB), zeroed, starting on a 2 MiB
    /// boundary, advised for huge pages; `nil` when it cannot be mapped.
    private static func mapAligned(_ bytes: Int) -> UnsafeMutableRawPointer? {
        let length = bytes + hugePage
        guard let raw = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              raw != UnsafeMutableRawPointer(bitPattern: -1)
        else { return nil }
        let address = UInt(bitPattern: raw)
        let aligned = (address + UInt(hugePage) - 1) & ~(UInt(hugePage) - 1)
        let head = Int(aligned - address)
        if head > 0 { munmap(raw, head) }
        let start = raw + head
        let tail = length - head - bytes
        if tail > 0 { munmap(start + bytes, tail) }
        #if os(Linux)
        _ = madvise(start, bytes, MADV_HUGEPAGE)
        #endif
        return start
    }

    /// Reads the first slot of each key, without changing anything: called before inserting
    /// a group of keys, so that their cache misses overlap.
    @inline(__always)
    mutating func touch(_ keys: UnsafeMutablePointer<OpenIDDigest>, count: Int) {
        var sink: UInt64 = 0
        for index in 0..<count {
            sink |= words[2 * (Int(truncatingIfNeeded: keys[index].high) & mask)]
        }
        touched &+= sink
    }

    /// Keeps `touch`'s reads from being optimised away.
    private var touched: UInt64 = 0

    /// Sizes the table for `expected` keys without growing while they are inserted.
    mutating func reserve(_ expected: Int) {
        var slots = 1024
        while slots < 2 * expected { slots <<= 1 }
        if slots > mask + 1 { rehash(slots: slots) }
    }

    /// Inserts `key`; `false` when it was there already.
    @inline(__always)
    mutating func insert(_ key: OpenIDDigest) -> Bool {
        if key.high == 0 && key.low == 0 {
            if hasZero { return false }
            hasZero = true
            count += 1
            return true
        }
        if 2 * (count + 1) > mask + 1 { rehash(slots: 2 * (mask + 1)) }
        let words = self.words
        var slot = Int(truncatingIfNeeded: key.high) & mask
        while true {
            let high = words[2 * slot]
            let low = words[2 * slot + 1]
            if high == 0 && low == 0 {
                words[2 * slot] = key.high
                words[2 * slot + 1] = key.low
                count += 1
                return true
            }
            if high == key.high && low == key.low { return false }
            slot = (slot + 1) & mask
        }
    }

    private mutating func rehash(slots: Int) {
        let old = words
        let oldSlots = mask + 1
        let oldMapped = mapped
        (words, mapped) = Self.allocate(slots: slots)
        mask = slots - 1
        for index in 0..<oldSlots {
            let high = old[2 * index]
            let low = old[2 * index + 1]
            if high == 0 && low == 0 { continue }
            var slot = Int(truncatingIfNeeded: high) & mask
            while words[2 * slot] != 0 || words[2 * slot + 1] != 0 { slot = (slot + 1) & mask }
            words[2 * slot] = high
            words[2 * slot + 1] = low
        }
        Self.free(old, slots: oldSlots, mapped: oldMapped)
    }
}

/// A problem on one line, collected during the scan.
struct LineProblem {
    var line: Int
    var column: Int?
    var code: AudienceError.Code
    /// e.g. `malformed OpenID "abc"`
    var summary: String
    /// e.g. `3 characters; at least 6`
    var reason: String?
}

/// The per-line logic of pass 1.
struct LineProcessor: ~Copyable {
    let file: String
    let csvColumn: String?
    var spool: SpoolWriter

    private(set) var lineNumber = 0
    private(set) var uniqueCount = 0
    private(set) var duplicateCount = 0
    private(set) var blankCount = 0
    private var seen = DigestTable()
    /// The key of the OpenIDs' SipHash, drawn for this scan.
    private let key = SipKey.random()
    /// One OpenID a line (no CSV column).
    private let plain: Bool
    /// OpenIDs taken by ``line(_:)`` and not yet looked up in `seen` (their keys, and where
    /// their bytes are in the read buffer): they are looked up together in
    /// ``flushPending()``, where the table's cache misses overlap instead of coming one
    /// after another. Flushed before any other line, and before the buffer is read into again.
    private let pendingKeys: UnsafeMutablePointer<OpenIDDigest>
    private let pendingBytes: UnsafeMutablePointer<UnsafeBufferPointer<UInt8>>
    private var pendingCount = 0
    static let pendingCapacity = 32
    private var problems: [LineProblem] = []
    private var problemCount = 0

    // CSV state
    private var headerRead = false
    private var columnIndex = 0
    private var headerCellCount = 0
    private var cell: [UInt8] = []

    static let openIDRule = "OpenIDs are 6–64 characters of A-Z a-z 0-9 _ -"

    /// Show only the first characters of a malformed OpenID (``AudienceScanner/check(_:maxLines:)``).
    let masksOpenIDs: Bool

    init(source: AudienceSource, spool: consuming SpoolWriter, masksOpenIDs: Bool = false) {
        self.masksOpenIDs = masksOpenIDs
        file = source.path
        csvColumn = source.csvColumn.map { trimmedString($0) }
        plain = source.csvColumn == nil
        pendingKeys = .allocate(capacity: Self.pendingCapacity)
        pendingBytes = .allocate(capacity: Self.pendingCapacity)
        self.spool = spool
        cell.reserveCapacity(AudienceScanner.maxLineBytes)
    }

    deinit {
        pendingKeys.deallocate()
        pendingBytes.deallocate()
    }

    mutating func reserve(_ count: Int) {
        seen.reserve(Swift.min(count, 1 << 26))
    }

    // MARK: Lines

    /// A line longer than the limit, whose bytes were not kept.
    mutating func overlongLine() throws(AudienceError) {
        flushPending()
        lineNumber += 1
        try record(LineProblem(
            line: lineNumber, column: nil, code: .lineTooLong,
            summary: "line longer than \(AudienceScanner.maxLineBytes) bytes", reason: nil
        ))
    }

    /// One physical line, without its `\n`, in the read buffer: its bytes must stay there
    /// until ``flushPending()``.
    ///
    /// The common line of a plain file, an OpenID alone (6 to 64 OpenID bytes: nothing to
    /// trim, no `\r`, no BOM, ASCII), is taken here, inlined into the read loop, and its
    /// lookup deferred to ``flushPending()``; every other line goes through
    /// ``otherLine(_:)``, which applies all the rules. Both give the same result for such a
    /// line, in the same order.
    @inline(__always)
    mutating func line(_ raw: UnsafeBufferPointer<UInt8>) throws(AudienceError) {
        if plain, raw.count >= 6, raw.count <= 64, Self.allOpenIDBytes(raw) {
            lineNumber += 1
            // Once the file has failed nothing will be sent: only keep collecting problems.
            guard problemCount == 0 else { return }
            pendingKeys[pendingCount] = OpenIDDigest(raw, key: key)
            pendingBytes[pendingCount] = raw
            pendingCount += 1
            if pendingCount == Self.pendingCapacity { flushPending() }
            return
        }
        try otherLine(raw)
    }

    /// A line assembled outside the read buffer (split across two reads).
    mutating func carriedLine(_ raw: UnsafeBufferPointer<UInt8>) throws(AudienceError) {
        try otherLine(raw)
    }

    /// Looks up the pending OpenIDs in file order: the new ones are counted and spooled,
    /// the others counted as duplicates. Their table slots are read first, all of them,
    /// so that the memory accesses overlap.
    mutating func flushPending() {
        let count = pendingCount
        guard count > 0 else { return }
        pendingCount = 0
        seen.touch(pendingKeys, count: count)
        for index in 0..<count {
            if seen.insert(pendingKeys[index]) {
                uniqueCount += 1
                spool.appendLine(pendingBytes[index])
            } else {
                duplicateCount += 1
            }
        }
    }

    /// Whether every byte is one of `A-Z a-z 0-9 _ -`; no early exit, so that the loop
    /// has no branch per byte.
    @inline(__always)
    static func allOpenIDBytes(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var bad: UInt8 = 0
        for byte in bytes {
            let digit = byte &- 0x30 < 10
            let letter = (byte | 0x20) &- 0x61 < 26
            let mark = byte == 0x5F || byte == 0x2D
            bad |= digit || letter || mark ? 0 : 1
        }
        return bad == 0
    }

    @inline(never)
    private mutating func otherLine(_ raw: UnsafeBufferPointer<UInt8>) throws(AudienceError) {
        flushPending()
        lineNumber += 1
        var start = 0
        var end = raw.count
        if lineNumber == 1, end >= 3, raw[0] == 0xEF, raw[1] == 0xBB, raw[2] == 0xBF { start = 3 }
        if end > start, raw[end - 1] == Bytes.carriageReturn { end -= 1 }
        let body = UnsafeBufferPointer(rebasing: raw[start..<end])
        if body.count > AudienceScanner.maxLineBytes {
            try overlongCounted()
            return
        }
        if csvColumn == nil {
            plainLine(body)
        } else {
            try csvLine(body)
        }
    }

    private mutating func overlongCounted() throws(AudienceError) {
        try record(LineProblem(
            line: lineNumber, column: nil, code: .lineTooLong,
            summary: "line longer than \(AudienceScanner.maxLineBytes) bytes", reason: nil
        ))
    }

    private mutating func plainLine(_ body: UnsafeBufferPointer<UInt8>) {
        let range = Bytes.trimmed(body)
        if range.isEmpty {
            blankCount += 1
            return
        }
        let openID = UnsafeBufferPointer(rebasing: body[range])
        if let problem = check(openID, in: body, at: range.lowerBound) {
            try? record(problem)  // never throws in plain mode
            return
        }
        accept(openID)
    }

    private mutating func csvLine(_ body: UnsafeBufferPointer<UInt8>) throws(AudienceError) {
        if Bytes.hasNonASCII(body), let offset = Bytes.firstInvalidUTF8(body) {
            try record(invalidUTF8(body, offset))
            return
        }
        if Bytes.trimmed(body).isEmpty {
            blankCount += 1
            return
        }
        if !headerRead {
            try readHeader(body)
            return
        }
        var cellStart = 0
        switch CSVRow.parse(body, wanted: columnIndex, into: &cell, cellStart: &cellStart) {
        case .failure(let offset, let message):
            try record(LineProblem(
                line: lineNumber, column: Bytes.column(in: body, byteOffset: offset), code: .csvSyntax,
                summary: message, reason: nil
            ))
            return
        case .cells(let count):
            if count != headerCellCount {
                try record(LineProblem(
                    line: lineNumber, column: nil, code: .csvSyntax,
                    summary: "row has \(count) \(count == 1 ? "cell" : "cells"), the header has \(headerCellCount)",
                    reason: nil
                ))
                return
            }
        }
        let cellBytes = cell  // a local, so that the closure may change self
        try cellBytes.withUnsafeBufferPointer { (value) throws(AudienceError) in
            let range = Bytes.trimmed(value)
            if range.isEmpty {
                blankCount += 1
                return
            }
            let openID = UnsafeBufferPointer(rebasing: value[range])
            if var problem = check(openID, in: value, at: range.lowerBound) {
                // The column is counted in the cell: shift it by the cell's start in the line.
                let startColumn = Bytes.column(in: body, byteOffset: cellStart)
                problem.column = startColumn + (problem.column ?? 1) - 1
                try record(problem)
                return
            }
            accept(openID)
        }
    }

    private mutating func readHeader(_ body: UnsafeBufferPointer<UInt8>) throws(AudienceError) {
        let column = csvColumn ?? ""
        var names: [String] = []
        var offset = 0
        switch CSVRow.cells(body, into: &names, failureOffset: &offset) {
        case .failure(let at, let message):
            throw AudienceError(
                file: file, line: lineNumber, column: Bytes.column(in: body, byteOffset: at), code: .csvSyntax,
                message: "in the CSV header: " + message
            )
        case .cells:
            break
        }
        guard let index = names.firstIndex(of: column) else {
            // A header's names are shown. When masking, a name that could be data (the first
            // row of a file without a header: longer than 24 characters or with a digit, as
            // OpenIDs have) is cut to its first 3 characters.
            func couldBeData(_ name: String) -> Bool { name.count > 24 || name.contains(where: \.isNumber) }
            let shown = names.prefix(20).map { name in
                "\"" + (masksOpenIDs && couldBeData(name) ? String(name.prefix(3)) + "…" : name) + "\""
            }.joined(separator: ", ")
            let more = names.count > 20 ? " and \(names.count - 20) more" : ""
            var hint = "touser_column must name a cell of the CSV's first row exactly (case-sensitive; spaces around are ignored)"
            // A name masked above is suggested only when it differs from the column in case alone.
            let suggestible = names.filter {
                !(masksOpenIDs && couldBeData($0)) || $0.lowercased() == column.lowercased()
            }
            if let close = Suggestion.closest(to: column, among: suggestible) {
                hint = "did you mean \"\(close)\"? " + hint
            }
            throw AudienceError(
                file: file, line: lineNumber, code: .missingColumn,
                message: "the CSV header has no column \"\(column)\"; columns found: \(shown)\(more)",
                hint: hint
            )
        }
        // A second column of that name (or of it in other case) leaves the audience to a
        // guess: refused, naming both, rather than reading the first.
        let alike = names.indices.filter { $0 != index && names[$0].lowercased() == column.lowercased() }
        if let other = alike.first {
            let exact = names[other] == column
            throw AudienceError(
                file: file, line: lineNumber, code: .ambiguousColumn,
                message: exact
                    ? "the CSV header has column \"\(column)\" twice: columns \(index + 1) and \(other + 1)"
                    : "the CSV header has columns \(index + 1) \"\(names[index])\" and \(other + 1) \"\(names[other])\", which differ in case alone; touser_column \"\(column)\" is ambiguous",
                hint: "rename the other column in the file, so that touser_column names exactly one"
            )
        }
        columnIndex = index
        headerCellCount = names.count
        headerRead = true
    }

    // MARK: OpenIDs

    /// Checks one OpenID (already trimmed); `line` is the whole line and `offset` where the
    /// OpenID starts in it, for columns.
    @inline(__always)
    private func check(
        _ openID: UnsafeBufferPointer<UInt8>, in line: UnsafeBufferPointer<UInt8>, at offset: Int
    ) -> LineProblem? {
        var firstBad = -1
        var index = 0
        let count = openID.count
        while index < count {
            if !Bytes.isOpenIDByte(openID[index]) {
                firstBad = index
                break
            }
            index += 1
        }
        if firstBad < 0, count >= 6, count <= 64 { return nil }
        return malformed(openID, in: line, at: offset, firstBad: firstBad)
    }

    private func malformed(
        _ openID: UnsafeBufferPointer<UInt8>, in line: UnsafeBufferPointer<UInt8>, at offset: Int, firstBad: Int
    ) -> LineProblem {
        if Bytes.hasNonASCII(line), let bad = Bytes.firstInvalidUTF8(line) {
            return invalidUTF8(line, bad)
        }
        let summary = "malformed OpenID " + (masksOpenIDs ? Bytes.masked(openID) : Bytes.quoted(openID))
        if firstBad >= 0 {
            let character = Bytes.describeCharacter(in: openID, at: firstBad)
            return LineProblem(
                line: lineNumber, column: Bytes.column(in: line, byteOffset: offset + firstBad), code: .malformedOpenID,
                summary: summary, reason: "\(character) is not allowed"
            )
        }
        let length = openID.count
        return LineProblem(
            line: lineNumber, column: Bytes.column(in: line, byteOffset: offset), code: .malformedOpenID,
            summary: summary,
            reason: length < 6 ? "\(length) \(length == 1 ? "character" : "characters"); at least 6" : "\(length) characters; at most 64"
        )
    }

    private func invalidUTF8(_ line: UnsafeBufferPointer<UInt8>, _ offset: Int) -> LineProblem {
        LineProblem(
            line: lineNumber, column: Bytes.column(in: line, byteOffset: offset), code: .invalidUTF8,
            summary: "invalid UTF-8", reason: "byte 0x" + Bytes.hex([line[offset]]).uppercased()
        )
    }

    @inline(__always)
    private mutating func accept(_ openID: UnsafeBufferPointer<UInt8>) {
        // Once the file has failed nothing will be sent: only keep collecting problems.
        guard problemCount == 0 else { return }
        if seen.insert(OpenIDDigest(openID, key: key)) {
            uniqueCount += 1
            spool.appendLine(openID)
        } else {
            duplicateCount += 1
        }
    }

    // MARK: Problems

    /// Collects a problem; before the CSV header is read, any problem ends the scan.
    private mutating func record(_ problem: LineProblem) throws(AudienceError) {
        problemCount += 1
        if problems.count < AudienceError.maxDetails { problems.append(problem) }
        if csvColumn != nil, !headerRead {
            throw error(hint: "the first row of a CSV must be its header")
        }
    }

    private func detail(_ problem: LineProblem) -> String {
        var text = "\(file):\(problem.line)"
        if let column = problem.column { text += ":\(column)" }
        text += ": " + problem.summary
        if let reason = problem.reason { text += " (\(reason))" }
        return text
    }

    private func details() -> [String] {
        var lines: [String] = []
        for problem in problems { lines.append(detail(problem)) }
        return lines
    }

    private func error(hint: String) -> AudienceError {
        let first = problems[0]
        var message = first.summary
        switch first.code {
        case .malformedOpenID: message += ": " + Self.openIDRule
        case .invalidUTF8, .lineTooLong, .csvSyntax: if let reason = first.reason { message += " (\(reason))" }
        default: break
        }
        return AudienceError(
            file: file, line: first.line, column: first.column, code: first.code, message: message,
            hint: hint, details: details(), problemCount: problemCount
        )
    }

    /// Throws the collected problems, or (when `countsChecked`) when there are fewer than
    /// 2 unique OpenIDs.
    func finish(countsChecked: Bool = true) throws(AudienceError) {
        if problemCount > 0 {
            throw error(hint: "fix or remove the listed lines; nothing is sent from a file with errors")
        }
        if !countsChecked { return }
        if let column = csvColumn, !headerRead {
            throw AudienceError(
                file: file, code: .empty, message: "the file has no OpenIDs",
                hint: "a CSV audience needs a header row naming the column \"\(column)\", then one row per OpenID"
            )
        }
        if uniqueCount == 0 {
            throw AudienceError(
                file: file, code: .empty, message: "the file has no OpenIDs",
                hint: csvColumn == nil ? "write one OpenID a line" : "the column \"\(csvColumn!)\" is empty in every row"
            )
        }
        if uniqueCount == 1 {
            let note = duplicateCount > 0 ? " (after removing \(duplicateCount) \(duplicateCount == 1 ? "duplicate" : "duplicates"))" : ""
            throw AudienceError(
                file: file, code: .tooFew,
                message: "an audience of 1 cannot be sent with mass/send; WeChat needs at least 2 OpenIDs" + note,
                hint: "add OpenIDs, or send to the one follower with mass/preview"
            )
        }
    }
}

/// Spaces and tabs trimmed from both ends.
func trimmedString(_ text: String) -> String {
    var scalars = Substring(text).unicodeScalars[...]
    while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
    while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
    return String(scalars)
}
