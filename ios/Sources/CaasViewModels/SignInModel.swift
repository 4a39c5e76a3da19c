import CaasCore
import CaasKit
import Foundation
import Observation

/// Sign-in with a code sent by email, as a customer or as a transport company's driver.
@Observable
@MainActor
public final class SignInModel: ScreenModel {
    public enum Notice: ScreenNotice {
        /// The code is on its way to this address.
        case codeSent(to: String)
        case problem(Problem)
    }

    /// Who signs in; choosing the other role starts over, since the code is asked per role.
    public var role: Role = .customer {
        didSet {
            guard role != oldValue else { return }
            codeSent = false
            code = ""
            notice = nil
        }
    }

    public var email = ""
    public var code = ""
    /// A code was sent: the screen asks for it.
    public private(set) var codeSent = false
    public internal(set) var notice: Notice?
    var running = 0

    public var busy: Bool { running > 0 }
    public var canRequestCode: Bool { !busy && email.contains("@") }
    public var canSignIn: Bool { !busy && codeSent && !code.isEmpty }

    private let customer: any CustomerOrdersService
    private let driver: any DriverService
    private let signedIn: @MainActor (Role) async -> Void

    /// `signedIn` takes the app to the role's screens.
    public init(customer: any CustomerOrdersService, driver: any DriverService, signedIn: @escaping @MainActor (Role) async -> Void) {
        self.customer = customer
        self.driver = driver
        self.signedIn = signedIn
    }

    public func requestCode() async {
        let email = email.trimmingCharacters(in: .whitespaces)
        await perform {
            switch role {
            case .customer: try await customer.requestSignInCode(email: email)
            case .driver: try await driver.requestSignInCode(email: email)
            }
            codeSent = true
            return .codeSent(to: email)
        }
    }

    public func signIn() async {
        let (email, code) = (email.trimmingCharacters(in: .whitespaces), code.trimmingCharacters(in: .whitespaces))
        let role = role
        var signedInNow = false
        await perform {
            switch role {
            case .customer: _ = try await customer.signIn(email: email, code: code)
            case .driver: _ = try await driver.signIn(email: email, code: code)
            }
            signedInNow = true
            return nil
        }
        if signedInNow { await signedIn(role) }
    }

    /// Back to the address, to correct it or ask for another code.
    public func changeEmail() {
        codeSent = false
        code = ""
        notice = nil
    }
}
