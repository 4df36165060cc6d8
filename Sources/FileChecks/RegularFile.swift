import Foundation

/// Opening a file that a pipeline names (`file`, `content_file`, `touser_file`) to read it:
/// only a regular file is opened, and the open never waits. A plain `open` of a FIFO (named
/// pipe) waits for a writer for ever, and opening a device runs its driver. So the path is
/// looked at first (`stat`: anything but a regular file is named by its type and never
/// opened), then opened with `O_NONBLOCK` and looked at again (`fstat`), in case it was
/// replaced in between, before a byte is read.
public enum RegularFile {
    /// Why a file could not be opened.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// No such file (or a path component is not a folder).
        case missing
        /// It exists but is not a regular file; the associated text names what it is ("a FIFO (named pipe)").
        case notRegular(String)
        /// It cannot be opened: the system's reason ("Permission denied").
        case unreadable(String)

        public var description: String {
            switch self {
            case .missing: "no such file"
            case .notRegular(let kind): "it is \(kind), not a regular file"
            case .unreadable(let reason): "it cannot be read: \(reason)"
            }
        }
    }

    /// What a file of `mode` (`st_mode`) is, for messages: "a folder", "a FIFO (named pipe)"…
    public static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a folder"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "not a regular file"
        }
    }

    /// The regular file at `path`, open for reading (the handle closes it when released).
    public static func open(_ path: String) -> Result<FileHandle, Failure> {
        func failure(_ code: Int32) -> Failure {
            code == ENOENT || code == ENOTDIR ? .missing : .unreadable(String(cString: strerror(code)))
        }
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(failure(errno)) }
        guard info.st_mode & S_IFMT == S_IFREG else { return .failure(.notRegular(kind(of: info.st_mode))) }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(failure(errno)) }
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            return .failure(.unreadable(reason))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            return .failure(.notRegular(kind(of: info.st_mode)))
        }
        // Reads of a regular file do not block either way; clear the flag all the same.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return .success(FileHandle(fileDescriptor: fd, closeOnDealloc: true))
    }
}
