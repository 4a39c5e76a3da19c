import CaasCore

/// Routes the core's logs to the platform's logger: OSLog in the app (a `Logger` per target),
/// standard output in tests. Install once, before opening the repository.
public enum CaasLog {
    @discardableResult
    public static func install(
        minLevel: LogLevel = .info, _ write: @escaping @Sendable (LogLevel, String, String) -> Void
    ) -> Bool {
        installLogSink(sink: Sink(write), maxLevel: minLevel)
    }

    private final class Sink: LogSink, @unchecked Sendable {
        let write: @Sendable (LogLevel, String, String) -> Void
        init(_ write: @escaping @Sendable (LogLevel, String, String) -> Void) { self.write = write }
        func log(level: LogLevel, target: String, message: String) { write(level, target, message) }
    }
}
