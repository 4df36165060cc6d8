import Foundation

/// A position in a source file: 1-based line and column, columns counted in Unicode scalars.
///
/// The file's name is kept as a `SourceFile` (a number standing for the interned name), so a
/// location is three plain integers: copying one (every node of the located tree has one,
/// and every key, diagnostic and `Located` value) costs no reference counting.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The file, interned.
    public var source: SourceFile
    /// 1-based line.
    public var line: Int
    /// 1-based column, counted in Unicode scalars (characters), not bytes.
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.init(file: SourceFile(file), line: line, column: column)
    }

    public init(file: SourceFile, line: Int, column: Int) {
        self.source = file
        self.line = line
        self.column = column
    }

    /// The file's path as the user named it (or a label such as `<stdin>`).
    public var file: String {
        get { source.name }
        set { source = SourceFile(newValue) }
    }

    /// The location `n` characters further on the same line.
    public func advanced(by n: Int) -> SourceLocation {
        SourceLocation(file: source, line: line, column: column + n)
    }

    public var description: String { "\(file):\(line):\(column)" }

    private enum CodingKeys: String, CodingKey {
        case file, line, column
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(file: try c.decode(String.self, forKey: .file), line: try c.decode(Int.self, forKey: .line),
                  column: try c.decode(Int.self, forKey: .column))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(file, forKey: .file)
        try c.encode(line, forKey: .line)
        try c.encode(column, forKey: .column)
    }
}

/// A file name interned once per process: the same name (byte for byte) gets the same number, so comparing or
/// hashing a `SourceFile` compares numbers, and copying one is copying an integer.
///
/// The names live for the process (one entry per distinct name; a process reads a bounded
/// set of pipeline files). Interning takes a lock: readers intern a file's name once, not
/// once per location.
public struct SourceFile: Sendable, Hashable, CustomStringConvertible {
    let id: UInt32

    /// Interns `name`.
    public init(_ name: String) {
        id = SourceFileNames.shared.intern(name)
    }

    /// The name as given.
    public var name: String { SourceFileNames.shared.name(id) }

    public var description: String { name }
}

/// The process's interned file names.
final class SourceFileNames: @unchecked Sendable {
    static let shared = SourceFileNames()

    private let lock = NSLock()
    private var names: [String] = []
    private var ids: [Bytes: UInt32] = [:]

    /// A name compared by its bytes: two spellings of one name (NFC, NFD) are two files.
    private struct Bytes: Hashable {
        let name: String
        static func == (a: Bytes, b: Bytes) -> Bool { a.name.utf8.elementsEqual(b.name.utf8) }
        func hash(into hasher: inout Hasher) {
            for byte in name.utf8 { hasher.combine(byte) }
        }
    }

    func intern(_ name: String) -> UInt32 {
        lock.lock()
        defer { lock.unlock() }
        if let id = ids[Bytes(name: name)] { return id }
        let id = UInt32(names.count)
        names.append(name)
        ids[Bytes(name: name)] = id
        return id
    }

    func name(_ id: UInt32) -> String {
        lock.lock()
        defer { lock.unlock() }
        return names[Int(id)]
    }
}
