#if canImport(Glibc)
    import Glibc
#endif
import Foundation

/// Opens files that streamtop writes (results, rejects, snapshots).
public enum OutputFile {
    /// Opens `path` for writing, created or truncated, with open(2): unlike `FileManager.createFile`, which
    /// writes a new file and renames it over the old one, this keeps FIFOs and devices such as /dev/null.
    /// `what` names the file in the error (`results file`).
    public static func open(_ path: String, what: String) throws -> FileHandle {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SourceError("cannot write \(what) \(path): \(String(cString: strerror(errno)))") }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }
}
