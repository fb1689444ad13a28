// The hostile-file corpus (Fixtures/hostile, written by tools/make_hostile_corpus.py, one reason per file
// in reasons.txt): every file must be refused by its reader with an error that names the file.

import Foundation
import Testing

@testable import SpQRCore

@Suite("Hostile files")
struct HostileFilesTests {
    static let directory = "\(fixtures)/hostile"

    static var reasons: [String: String] {
        let text = (try? String(contentsOfFile: "\(directory)/reasons.txt", encoding: .utf8)) ?? ""
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { out[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return out
    }

    @Test("every file has a reason, every reason a file")
    func corpus() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory).filter { $0 != "reasons.txt" }
        #expect(Set(files) == Set(Self.reasons.keys))
        #expect(files.count >= 25)
    }

    @Test("each is refused with a specific error", arguments: reasons.keys.sorted())
    func refused(file: String) {
        let path = "\(Self.directory)/\(file)"
        do {
            switch file.split(separator: "-").first {
            case "safetensors":
                let c = try SafetensorsCheckpoint(path: path)
                for t in c.tensors where t.isQuantizable { _ = try c.matrix(t.name) }
            case "gguf":
                let c = try GGUFCheckpoint(path: path)
                for t in c.tensors where t.isQuantizable { _ = try c.matrix(t.name) }
            case "imatrix": _ = try ImportanceMatrixCalibration(path: path)
            case "npy": _ = try NumpyArray.read(path: path)
            case "recipe": _ = try Recipe.read(path: path)
            default: Issue.record("unknown reader for \(file)")
            }
            Issue.record("\(file) (\(Self.reasons[file] ?? "")) was accepted")
        } catch let e as SpQRError {
            #expect(e.message.hasPrefix(path + ":"), "\(file): \(e.message)")
        } catch {
            Issue.record("\(file): \(error)")
        }
    }
}
