#if canImport(Glibc)
    import Glibc
#endif

/// Shell-style patterns for log files (`/var/log/nginx/*.log`, `access.log*`).
public enum Glob {
    /// Whether the text contains a pattern character.
    public static func isPattern(_ path: String) -> Bool { path.contains { "*?[".contains($0) } }

    /// The regular files matching a pattern, oldest first (by modification time), so that rotated logs
    /// (`access.log.2.gz`, `access.log.1`, `access.log`) replay in the order they were written.
    public static func expand(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        var found: [(String, Int, Int)] = []
        for i in 0..<Int(g.gl_pathc) {
            guard let c = g.gl_pathv[i] else { continue }
            let path = String(cString: c)
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            found.append((path, Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec)))
        }
        return found.sorted { ($0.1, $0.2, $0.0) < ($1.1, $1.2, $1.0) }.map(\.0)
    }
}
