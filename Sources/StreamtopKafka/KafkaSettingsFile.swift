import Foundation
import StreamtopLogs

/// A file of librdkafka client settings (`--kafka-config FILE`), one `name=value` per line as in kcat's
/// and the Java client's properties files; `#` starts a comment. Credentials belong there rather than on
/// the command line, where any user can read them in `ps`.
public enum KafkaSettingsFile {
    /// The file's settings as `name=value`, in order. Throws with the file and line of a mistake; values
    /// are never quoted in messages (they hold passwords).
    public static func read(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KafkaError("cannot read Kafka settings file \(Escaped.text(path)): \(String(cString: strerror(errno)))")
        }
        let text = String(decoding: data, as: UTF8.self)
        var settings: [String] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "="), eq != line.startIndex else {
                throw KafkaError("\(Escaped.text(path)):\(i + 1): expected name=value, e.g. sasl.password=…")
            }
            let name = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            settings.append("\(name)=\(value)")
        }
        return settings
    }

    /// A warning when others than the owner may read the file, or nil.
    public static func exposure(_ path: String) -> String? {
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path),
            let mode = (attrs[.posixPermissions] as? NSNumber)?.intValue, mode & 0o044 != 0
        else { return nil }
        return "Kafka settings file \(Escaped.text(path)) is readable by other users (mode \(String(mode & 0o777, radix: 8))); it may hold credentials: chmod 600 it"
    }
}
