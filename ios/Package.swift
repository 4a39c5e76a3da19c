// swift-tools-version:6.0
// The iOS shell's Swift package: the facade (CaasKit) over the UniFFI bindings of caas-ffi, and the
// view models of the app's screens (CaasViewModels). `scripts/bindings` writes the generated
// Swift and its C module to Generated/.
//
// The compiled core comes from one of two places:
// - CAAS_LIBRARY_DIR set (the Linux tests of `scripts/test`): the host-built libcaas_ffi in that
//   directory, linked with a search path, which only a root package may pass (`unsafeFlags`);
// - otherwise (Xcode on a Mac): build/CaasCore.xcframework, which `scripts/xcframework` makes
//   (static libraries for devices and simulators, with caas_ffiFFI.h and the module map of the
//   `caas_ffiFFI` module), so the package is usable as a dependency with no unsafe flags.
import PackageDescription

let hostLibrary = Context.environment["CAAS_LIBRARY_DIR"]

let coreFFI: Target = if hostLibrary != nil {
    .systemLibrary(name: "caas_ffiFFI", path: "Generated/caas_ffiFFI")
} else {
    .binaryTarget(name: "caas_ffiFFI", path: "build/CaasCore.xcframework")
}

let coreLinking: [LinkerSetting] = if let hostLibrary {
    [.linkedLibrary("caas_ffi"), .unsafeFlags(["-L", hostLibrary])]
} else {
    []
}

/// Debian trixie's swiftlang (6.0.3), which the Linux tests run on, ships a libswiftObservation.so
/// with an unresolved reference to the runtime's `swift::threading::fatal`, reached only on a fatal
/// error; the linker is told to let it resolve at run time, as the dynamic loader does lazily.
let observationOnDebian: [LinkerSetting] = if hostLibrary != nil {
    [.unsafeFlags(["-Xlinker", "--allow-shlib-undefined"], .when(platforms: [.linux]))]
} else {
    []
}

let package = Package(
    name: "CaasKit",
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [
        .library(name: "CaasKit", targets: ["CaasKit"]),
        .library(name: "CaasViewModels", targets: ["CaasViewModels"]),
    ],
    targets: [
        coreFFI,
        // Generated code, written for the Swift 5 language mode.
        .target(
            name: "CaasCore",
            dependencies: ["caas_ffiFFI"],
            path: "Generated/CaasCore",
            swiftSettings: [.swiftLanguageMode(.v5)],
            linkerSettings: coreLinking
        ),
        // Its Apple-only parts (CoreBluetooth, Keychain, OSLog) are not compiled on Linux, so the
        // Swift 6 checks could not be run on them here: it stays in the Swift 5 mode.
        .target(
            name: "CaasKit",
            dependencies: ["CaasCore"],
            path: "Sources/CaasKit",
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        // The screens' state and intents, with no UI framework: compiled and tested on Linux.
        .target(
            name: "CaasViewModels",
            dependencies: ["CaasKit"],
            path: "Sources/CaasViewModels",
            linkerSettings: observationOnDebian
        ),
        // The platform mock's sandbox API, shared by the test targets and the benchmark.
        .target(name: "CaasTestSupport", path: "Tests/CaasTestSupport"),
        // The cost of the bindings from Swift (`scripts/bench`, in release).
        .executableTarget(
            name: "FfiBench",
            dependencies: ["CaasKit", "CaasTestSupport"],
            path: "Benchmarks/FfiBench"
        ),
        .testTarget(
            name: "CaasKitTests",
            dependencies: ["CaasKit", "CaasTestSupport"],
            path: "Tests/CaasKitTests",
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .testTarget(
            name: "CaasViewModelsTests",
            dependencies: ["CaasViewModels", "CaasTestSupport"],
            path: "Tests/CaasViewModelsTests"
        ),
    ]
)
