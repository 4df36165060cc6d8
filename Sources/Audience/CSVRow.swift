// One CSV row (one physical line) per RFC 4180: `,` separates cells; a cell may be quoted
// with `"`, inside which `""` is a quote and commas are text. A quoted cell that does not
// close on its line is an error (cells spanning lines are not supported). Spaces and tabs
// around a quoted cell are allowed; a `"` inside an unquoted cell is kept as text.

enum CSVRow {
    enum Result {
        /// The row has this many cells.
        case cells(Int)
        /// A syntax error at this byte offset of the line.
        case failure(offset: Int, message: String)
    }

    /// Parses a line, copying the cell at index `wanted` (unescaped, not trimmed) into
    /// `cell` and its byte offset into `cellStart`; `cell` is left empty when the row has
    /// fewer cells.
    static func parse(
        _ line: UnsafeBufferPointer<UInt8>, wanted: Int, into cell: inout [UInt8], cellStart: inout Int
    ) -> Result {
        cell.removeAll(keepingCapacity: true)
        return walk(line) { index, start, bytes in
            if index == wanted {
                cell.append(contentsOf: bytes)
                cellStart = start
            }
        }
    }

    /// Parses a line into all its cells, as strings trimmed of spaces and tabs (the header).
    static func cells(_ line: UnsafeBufferPointer<UInt8>, into names: inout [String], failureOffset: inout Int) -> Result {
        names.removeAll()
        return walk(line) { _, _, bytes in
            let range = bytes.withUnsafeBufferPointer { Bytes.trimmed($0) }
            names.append(String(decoding: bytes[range], as: UTF8.self))
        }
    }

    /// Calls `body(index, startOffset, bytes)` for each cell, in order.
    private static func walk(
        _ line: UnsafeBufferPointer<UInt8>, _ body: (Int, Int, [UInt8]) -> Void
    ) -> Result {
        let count = line.count
        var index = 0
        var position = 0
        var value: [UInt8] = []
        while true {
            value.removeAll(keepingCapacity: true)
            var probe = position
            while probe < count, Bytes.isBlank(line[probe]) { probe += 1 }
            if probe < count, line[probe] == Bytes.quote {
                let opening = probe
                var cursor = probe + 1
                var closed = false
                while cursor < count {
                    let byte = line[cursor]
                    if byte == Bytes.quote {
                        if cursor + 1 < count, line[cursor + 1] == Bytes.quote {
                            value.append(Bytes.quote)
                            cursor += 2
                            continue
                        }
                        cursor += 1
                        closed = true
                        break
                    }
                    value.append(byte)
                    cursor += 1
                }
                guard closed else {
                    return .failure(
                        offset: opening,
                        message: "quoted cell not closed on its line (cells spanning lines are not supported)"
                    )
                }
                while cursor < count, Bytes.isBlank(line[cursor]) { cursor += 1 }
                if cursor < count, line[cursor] != Bytes.comma {
                    return .failure(offset: cursor, message: "unexpected text after the closing quote of a cell")
                }
                body(index, opening + 1, value)
                index += 1
                if cursor == count { return .cells(index) }
                position = cursor + 1
            } else {
                var cursor = position
                while cursor < count, line[cursor] != Bytes.comma { cursor += 1 }
                value.append(contentsOf: UnsafeBufferPointer(rebasing: line[position..<cursor]))
                body(index, position, value)
                index += 1
                if cursor == count { return .cells(index) }
                position = cursor + 1
            }
        }
    }
}
