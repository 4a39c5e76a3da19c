// swift-tools-version:5.9
// The iOS shell's Swift package: the facade (CaasKit) over the UniFFI bindings of caas-ffi.
// `scripts/bindings` writes the generated bindings to ../build/bindings/swift, and
// `scripts/test` links the host-built library from ../target/debug; on Apple platforms the
// XCFramework built by `scripts/xcframework` takes that place.
import PackageDescription

let libraryDir = Context.environment["CAAS_LIBRARY_DIR"] ?? "../target/debug"

let package = Package(
    name: "CaasKit",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [.library(name: "CaasKit", targets: ["CaasKit"])],
    targets: [
        .systemLibrary(name: "caas_ffiFFI", path: "Generated/caas_ffiFFI"),
        .target(
            name: "CaasCore",
            dependencies: ["caas_ffiFFI"],
            path: "Generated/CaasCore",
            linkerSettings: [.linkedLibrary("caas_ffi"), .unsafeFlags(["-L", libraryDir])]
        ),
        .target(name: "CaasKit", dependencies: ["CaasCore"], path: "Sources/CaasKit"),
        .testTarget(name: "CaasKitTests", dependencies: ["CaasKit"], path: "Tests/CaasKitTests"),
    ]
)
