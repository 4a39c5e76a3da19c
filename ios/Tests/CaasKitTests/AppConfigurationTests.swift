import CaasCore
import CaasKit
import Foundation
import XCTest

/// Issue 15: the extension's Keychain store had no shared access group, so it never read the
/// app's session. Both targets now read the same groups from their Info.plist.
final class AppConfigurationTests: XCTestCase {
    private let info: [String: Any] = [
        "CaasBackendURL": "https://api.caas.example",
        "CaasAppGroup": "group.eu.caas.companion",
        "CaasKeychainAccessGroup": "ABCDE12345.eu.caas.companion.shared",
    ]

    func testTheAppAndTheExtensionReadTheSameGroups() throws {
        let configuration = try AppConfiguration(infoDictionary: info)
        XCTAssertEqual(configuration.backendURL, URL(string: "https://api.caas.example"))
        XCTAssertEqual(configuration.appGroup, "group.eu.caas.companion")
        XCTAssertEqual(configuration.keychainAccessGroup, "ABCDE12345.eu.caas.companion.shared")
        let container = URL(fileURLWithPath: "/containers/group.eu.caas.companion")
        XCTAssertEqual(AppConfiguration.dataDirectory(of: .customer, in: container).path, "/containers/group.eu.caas.companion/customer")
        XCTAssertNotEqual(AppConfiguration.dataDirectory(of: .driver, in: container), AppConfiguration.dataDirectory(of: .customer, in: container))
    }

    func testAMissingKeyIsNamed() {
        for key in AppConfiguration.Key.allCases {
            var missing = info
            missing[key.rawValue] = nil
            XCTAssertThrowsError(try AppConfiguration(infoDictionary: missing)) {
                XCTAssertEqual($0 as? AppConfiguration.Problem, .missing(key))
            }
        }
    }

    func testABuildSettingXcodeDidNotExpandIsRefused() {
        var unexpanded = info
        unexpanded["CaasKeychainAccessGroup"] = "$(AppIdentifierPrefix)eu.caas.companion.shared"
        XCTAssertThrowsError(try AppConfiguration(infoDictionary: unexpanded)) {
            XCTAssertEqual($0 as? AppConfiguration.Problem, .invalid(.keychainAccessGroup))
        }
        var notAURL = info
        notAURL["CaasBackendURL"] = "api.caas.example"
        XCTAssertThrowsError(try AppConfiguration(infoDictionary: notAURL)) {
            XCTAssertEqual($0 as? AppConfiguration.Problem, .invalid(.backendURL))
        }
    }
}

final class NotificationTests: XCTestCase {
    func testALinkOpensTheOrderItNames() throws {
        let order = UUID()
        XCTAssertEqual(OrderLink.orderID(from: try XCTUnwrap(URL(string: "caas://order/\(order.uuidString.lowercased())"))), order)
        XCTAssertNil(OrderLink.orderID(from: try XCTUnwrap(URL(string: "caas://payment/\(order.uuidString)"))))
        XCTAssertNil(OrderLink.orderID(from: try XCTUnwrap(URL(string: "https://order/\(order.uuidString)"))))
        XCTAssertNil(OrderLink.orderID(from: try XCTUnwrap(URL(string: "caas://order/not-an-id"))))
    }

    func testATappedNotificationOpensItsOrderWithOrWithoutTheExtensionsLink() {
        let written = UUID()
        let pushed = UUID()
        let push: [AnyHashable: Any] = [
            "aps": ["alert": ["loc-key": "push.delivery"]],
            "caas": ["event_id": UUID().uuidString, "order_id": pushed.uuidString, "order_version": 9, "type": "state_changed"],
        ]
        XCTAssertEqual(OrderLink.orderID(fromNotification: push), pushed, "the push's own alert, shown when the extension ran out of time")
        var rewritten = push
        rewritten[OrderLink.userInfoKey] = "caas://order/\(written.uuidString.lowercased())"
        XCTAssertEqual(OrderLink.orderID(fromNotification: rewritten), written)
        XCTAssertNil(OrderLink.orderID(fromNotification: ["aps": [:]]))
    }

    func testEveryChannelHasItsCategory() {
        XCTAssertEqual(NotificationChannel.all.map(\.categoryIdentifier), ["manufacturing", "payment", "delivery", "keys", "car"])
    }

    /// The text iOS shows from the push alone, when the extension runs out of time, comes from the
    /// app's String Catalog under the push's `loc-key`: every channel's key must be there, in each
    /// language the app speaks.
    func testTheStringCatalogHasEveryPushKeyInEveryLanguage() throws {
        let catalog = try StringCatalog.app()
        for channel in NotificationChannel.all {
            let key = "push.\(channel.categoryIdentifier)"
            for language in ["en", "es", "pt"] {
                XCTAssertTrue(catalog.isTranslated(key, in: language), "\(key) has no \(language) text")
            }
        }
    }

    /// Every string of the catalog is translated for Spain and Portugal, with the placeholders of
    /// its key (a missing or extra one would show the wrong value, or crash the formatting).
    func testEveryStringOfTheAppIsInSpanishAndPortugueseWithItsPlaceholders() throws {
        let catalog = try StringCatalog.app()
        XCTAssertEqual(catalog.sourceLanguage, "en")
        for key in catalog.keys {
            for language in ["es", "pt"] {
                XCTAssertTrue(catalog.isTranslated(key, in: language), "\"\(key)\" has no \(language) translation")
            }
            for language in ["en", "es", "pt"] {
                for text in catalog.texts(of: key, in: language) {
                    XCTAssertEqual(placeholders(text), placeholders(key), "\"\(text)\" (\(language)) for \"\(key)\"")
                }
            }
        }
    }

    /// Every text the app's views and wording name is in the catalog: a key Xcode would not find
    /// would show in English to everyone.
    func testEveryTextTheAppShowsIsInTheCatalog() throws {
        let catalog = try StringCatalog.app()
        let known = Set(catalog.keys.map(generic))
        let named = try StringCatalog.appTexts()
        XCTAssertGreaterThan(named.count, 100)
        for text in named {
            XCTAssertTrue(known.contains(generic(text)), "\"\(text)\" is not in Localizable.xcstrings")
        }
    }

    private func placeholders(_ text: String) -> [String] {
        matches(of: "%(?:[0-9]+\\$)?(?:lld|@)", in: text).map { $0.replacingOccurrences(of: "[0-9]+\\$", with: "", options: .regularExpression) }
    }

    /// A key or a Swift literal with each placeholder or interpolation as one marker.
    private func generic(_ text: String) -> String {
        text.replacingOccurrences(of: "%(?:lld|@)|\\\\\\((?:[^()]|\\([^()]*\\))*\\)", with: "•", options: .regularExpression)
    }
}

func matches(of pattern: String, in text: String, group: Int = 0) -> [String] {
    let regex = try! NSRegularExpression(pattern: pattern)
    return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
        Range($0.range(at: group), in: text).map { String(text[$0]) }
    }
}

/// `App/Localizable.xcstrings` as Xcode reads it (JSON).
struct StringCatalog {
    let sourceLanguage: String
    private let strings: [String: [String: Any]]

    static func app() throws -> StringCatalog {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("App/Localizable.xcstrings")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        return StringCatalog(
            sourceLanguage: try XCTUnwrap(json["sourceLanguage"] as? String),
            strings: try XCTUnwrap(json["strings"] as? [String: [String: Any]]))
    }

    var keys: [String] { strings.keys.sorted() }

    /// The texts of `key` in `language`: its one text, or each of its plural forms.
    func texts(of key: String, in language: String) -> [String] {
        guard let localization = (strings[key]?["localizations"] as? [String: Any])?[language] as? [String: Any] else { return [] }
        let units: [Any?] = if let plural = (localization["variations"] as? [String: Any])?["plural"] as? [String: [String: Any]] {
            plural.values.map { $0["stringUnit"] }
        } else {
            [localization["stringUnit"]]
        }
        return units.compactMap { ($0 as? [String: Any])?["value"] as? String }
    }

    /// The literal texts the app's Swift gives SwiftUI (titles, labels, `Text`) and its wording
    /// (`LocalizedStringResource` cases), with their interpolations as written.
    static func appTexts() throws -> [String] {
        let app = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("App")
        let literal = #""((?:[^"\\]|\\.)*)""#
        let views = #"(?:Text|Button|NavigationLink|Section|TextField|SecureField|Picker|Label|ContentUnavailableView|navigationTitle|confirmationDialog|alert)\("# + literal
        let wording = #"(?:: |\[|, )"# + literal
        var texts: [String] = []
        for file in try FileManager.default.contentsOfDirectory(at: app, includingPropertiesForKeys: nil) where file.pathExtension == "swift" {
            let source = try String(contentsOf: file, encoding: .utf8)
            texts += matches(of: views, in: source, group: 1)
            if file.lastPathComponent == "Wording.swift" { texts += matches(of: wording, in: source, group: 1) }
        }
        return texts
    }

    /// Whether `key` has a translated text, or translated plural forms, in `language`.
    func isTranslated(_ key: String, in language: String) -> Bool {
        guard let localization = (strings[key]?["localizations"] as? [String: Any])?[language] as? [String: Any] else { return false }
        if let unit = localization["stringUnit"] as? [String: Any] {
            return unit["state"] as? String == "translated" && !(unit["value"] as? String ?? "").isEmpty
        }
        guard let plural = (localization["variations"] as? [String: Any])?["plural"] as? [String: [String: Any]], plural["other"] != nil else {
            return false
        }
        return plural.values.allSatisfy { form in
            let unit = form["stringUnit"] as? [String: Any]
            return unit?["state"] as? String == "translated" && !(unit?["value"] as? String ?? "").isEmpty
        }
    }
}
