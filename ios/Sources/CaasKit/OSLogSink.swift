#if canImport(os)
import CaasCore
import os

/// Routes the core's logs to OSLog: one `Logger` per Rust target (its category, public), in the
/// app's subsystem, at the matching level.
///
/// The core keeps personal data out of its messages, but a message still carries ids and
/// platform answers, so it is logged `.private`: readable on a developer's attached device,
/// redacted in logs collected from a customer's phone (a sysdiagnose). What stays readable there
/// is which part of the core logged, and how severe it was.
public enum OSLogSink {
    @discardableResult
    public static func install(subsystem: String, minLevel: LogLevel = .info) -> Bool {
        CaasLog.install(minLevel: minLevel) { level, target, message in
            let logger = Logger(subsystem: subsystem, category: target)
            switch level {
            case .error: logger.error("\(message, privacy: .private)")
            case .warn: logger.warning("\(message, privacy: .private)")
            case .info: logger.info("\(message, privacy: .private)")
            case .debug: logger.debug("\(message, privacy: .private)")
            case .trace: logger.trace("\(message, privacy: .private)")
            }
        }
    }
}
#endif
