import Foundation

/// A handler that runs once, for the first of several racing deliveries.
///
/// The Notification Service Extension has two ways to finish: the rewritten notification is
/// ready, or iOS says time is up (`serviceExtensionTimeWillExpire`, on another thread). Its
/// content handler must be called exactly once, so both go through one `OnceDelivery`: the first
/// caller's value reaches the handler, every later one is dropped.
public final class OnceDelivery<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var handler: ((Value) -> Void)?

    public init(_ handler: @escaping (Value) -> Void) {
        self.handler = handler
    }

    /// Hands `value` to the handler, on the caller's thread, if nothing was delivered before;
    /// returns whether it was. The handler is released once called.
    @discardableResult
    public func deliver(_ value: Value) -> Bool {
        let handler = lock.withLock {
            defer { self.handler = nil }
            return self.handler
        }
        guard let handler else { return false }
        handler(value)
        return true
    }
}
