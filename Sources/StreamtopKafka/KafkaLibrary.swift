#if canImport(Glibc)
    import Glibc
#endif
import CKafka
import StreamtopLogs

/// librdkafka, loaded at run time so that streamtop builds and runs without it: only a Kafka address
/// needs it. `STREAMTOP_LIBRDKAFKA` names the file to load (a path, or a name searched like any shared
/// library); the default is `librdkafka.so.1` from the system.
public enum KafkaLibrary {
    /// The file loaded when `STREAMTOP_LIBRDKAFKA` is not set.
    public static let defaultName = "librdkafka.so.1"

    /// Loads the library once; throws one line saying what to install when it cannot be loaded.
    public static func load() throws {
        if ck_loaded() != 0 { return }
        let env = getenv("STREAMTOP_LIBRDKAFKA").map { String(cString: $0) }
        let name = (env?.isEmpty == false ? env : nil) ?? defaultName
        var err = [CChar](repeating: 0, count: 512)
        guard ck_load(name, &err, err.count) == 0 else {
            let reason = String(cString: err)
            if env == nil {
                throw SourceError("Kafka needs librdkafka, which could not be loaded (\(reason)): install it (Debian: apt install librdkafka1) or point STREAMTOP_LIBRDKAFKA at a librdkafka.so.1, e.g. the one inside pip's confluent-kafka wheel")
            }
            throw SourceError("STREAMTOP_LIBRDKAFKA=\(name) could not be loaded: \(reason)")
        }
    }


    /// librdkafka's words for an error code.
    static func describe(_ code: Int32) -> String { String(cString: ck_err2str(code)) }

    /// The latest line librdkafka logged, for the reason of a failure (empty when it logged nothing).
    static var lastLog: String {
        var buf = [CChar](repeating: 0, count: 512)
        _ = ck_last_log(&buf, buf.count)
        return Escaped.text(String(cString: buf))
    }
}
