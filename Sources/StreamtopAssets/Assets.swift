import Foundation

/// Files shipped with streamtop as package resources, so the binary finds them from any folder.
public enum Assets {
    /// The bundled demo recording.
    public static var demoLog: URL? { Bundle.module.url(forResource: "demo-access", withExtension: "log") }
}

extension Assets {
    /// The bundled `themes/` folder.
    public static var themesDirectory: URL? { Bundle.module.url(forResource: "themes", withExtension: nil) }
}
