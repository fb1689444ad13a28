// Inputs that once crashed a reader under the fuzzer (scripts/fuzz.sh), kept as regression tests:
// each must now be rejected with a clear error. The file name says which reader and what was wrong.

import Foundation
import Testing

@testable import SpQRCore

@Suite("Fuzzer regressions")
struct FuzzRegressionTests {
    static let directory = "\(fixtures)/fuzz-regressions"

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    @Test("every kept crashing input is rejected cleanly", arguments: files)
    func rejected(file: String) {
        let path = "\(Self.directory)/\(file)"
        do {
            switch file.split(separator: "-").first {
            case "npy": _ = try NumpyArray.read(path: path)
            case "gguf": _ = try GGUFCheckpoint(path: path)
            case "safetensors": _ = try SafetensorsCheckpoint(path: path)
            case "imatrix": _ = try ImportanceMatrixCalibration(path: path)
            case "recipe": _ = try Recipe.read(path: path)
            default: Issue.record("\(file): name it READER-what-was-wrong.ext")
            }
        } catch let e as SpQRError {
            #expect(e.message.hasPrefix(path), "\(e.message)")
        } catch {
            Issue.record("\(file): \(error)")
        }
    }

    @Test func corpusIsPresent() { #expect(!Self.files.isEmpty) }
}
