// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SpQRExplorer",
    products: [
        .executable(name: "spqr-explorer", targets: ["SpQRExplorer"]),
        .library(name: "SpQRCore", targets: ["SpQRCore"]),
        .library(name: "SpQRModel", targets: ["SpQRModel"]),
        // Fuzz entry points for the readers (see Sources/SpQRFuzz/Fuzz.swift).
        .executable(name: "spqr-fuzz", targets: ["SpQRFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // ncursesw, used only by the terminal seam of the explorer.
        .systemLibrary(name: "CNcurses", providers: [.apt(["libncursesw5-dev"])]),
        // OpenBLAS (with its LAPACK) for the lazy GPTQ block update and the Cholesky factorisation.
        .systemLibrary(name: "COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        // OpenSSL's libcrypto for SHA-256 of the files a recipe names (SHA instructions when present).
        .systemLibrary(name: "COpenSSL", providers: [.apt(["libssl-dev"])]),
        // libpng for the heatmap pictures and the sweep's plot as PNG files.
        .systemLibrary(name: "CPNG", providers: [.apt(["libpng-dev"])]),
        // The numeric targets are optimised in debug builds too: the tests and the tools' end-to-end runs
        // (a whole-model quantization, a perplexity) take a tenth of the time, with the same results.
        .target(
            name: "SpQRCore",
            dependencies: ["COpenBLAS", "COpenSSL"],
            swiftSettings: [
                .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
                .unsafeFlags(["-O"], .when(configuration: .debug)),
            ]
        ),
        // The whole decoder on the CPU (forward pass, perplexity, KL, Hessian collection) and its tokenizers.
        .target(
            name: "SpQRModel",
            dependencies: ["SpQRCore", "COpenBLAS"],
            swiftSettings: [
                .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
                .unsafeFlags(["-O"], .when(configuration: .debug)),
            ]
        ),
        .executableTarget(
            name: "SpQRExplorer",
            dependencies: [
                "SpQRCore", "SpQRModel", "CNcurses", "CPNG",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fixtures and snapshots are read from the source tree (#filePath), not bundled.
        .executableTarget(name: "SpQRFuzz", dependencies: ["SpQRCore"]),
        // What the test targets share: the seeded generator, tolerance comparisons, snapshot assertions.
        .target(name: "SpQRTestSupport", dependencies: ["SpQRCore"], path: "Tests/SpQRTestSupport"),
        .testTarget(name: "SpQRCoreTests", dependencies: ["SpQRCore", "SpQRTestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "SpQRModelTests", dependencies: ["SpQRModel", "SpQRCore", "SpQRTestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "SpQRExplorerTests", dependencies: ["SpQRExplorer", "SpQRCore", "SpQRTestSupport", "CPNG"],
            exclude: ["__Snapshots__"]),
    ],
    swiftLanguageModes: [.v6]
)
