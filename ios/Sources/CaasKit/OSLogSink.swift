#if canImport(os)
import CaasCore
import os

/// Routes the core's logs to OSLog: one `Logger` per Rust target, in the app's subsystem.
public enum OSLogSink {
    @discardableResult
    public static func install(subsystem: String, minLevel: LogLevel = .info) -> Bool {
        CaasLog.install(minLevel: minLevel) { level, target, message in
            let logger = Logger(subsystem: subsystem, category: target)
            switch level {
            case .error: logger.error("\(message, privacy: .public)")
            case .warn: logger.warning("\(message, privacy: .public)")
            case .info: logger.info("\(message, privacy: .public)")
            case .debug: logger.debug("\(message, privacy: .public)")
            case .trace: logger.trace("\(message, privacy: .public)")
            }
        }
    }
}
#endif
