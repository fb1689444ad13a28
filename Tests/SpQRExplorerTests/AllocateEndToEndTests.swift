// spqr-explorer allocate end to end on a tiny random LLaMA directory: the recipe it writes is applied by
// quantize-model --recipe, whose measured average bits and bytes are the predicted ones and within the
// target; a second run reads every layer from the cache; bad targets are refused with what can be reached.

import Foundation
import Testing

@testable import SpQRCore

@Suite("allocate", .serialized)
struct AllocateEndToEndTests {
    static let menu = "wbits=2,3,4;groupsize=16,32;outlier_threshold=0.2,off"

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("allocate → quantize-model --recipe: achieved bits and bytes are the predicted ones, within the target")
    func applied() throws {
        let (dir, source) = try QuantizeModelEndToEndTests.scratchWithTinyLlama("allocate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let allocate = [
            "allocate", source, "--target-bits", "3.3", "--menu", Self.menu, "--cache", dir + "/cache",
            "--out", dir + "/recipe.json", "--json",
        ]
        let run = try BinaryRunner.run(allocate)
        #expect(run.status == 0, "\(run.stderr)")
        let report = try Self.json(run.stdout)
        let totals = try #require(report["totals"] as? [String: Any])
        let predicted = try #require(totals["avg_bits"] as? Double)
        #expect(predicted <= 3.3 && predicted > 3.0, "the budget is used")
        #expect(totals["layers"] as? Int == 14 && report["measured_layers"] as? Int == 14)
        #expect((totals["gap"] as? Double ?? -1) >= 0)
        let uniform = try #require(report["uniform"] as? [String: Any])
        #expect(try #require(uniform["avg_bits"] as? Double) >= predicted)
        let bound = try #require(totals["bound"] as? Double)
        if try #require(uniform["avg_bits"] as? Double) <= 3.3 {
            #expect(try #require(uniform["error"] as? Double) >= bound, "within the target, no choice beats the bound")
        }
        #expect((report["error_weight"] as? String)?.contains("data-free") == true)
        let layers = try #require(report["layers"] as? [[String: Any]])
        #expect(Set(layers.compactMap { ($0["config"] as? [String: Any])?["wbits"] as? Int }).count > 1, "mixed bits")

        let recipe = try Recipe.read(path: dir + "/recipe.json")
        #expect(recipe.layers.count == 14)
        let overridden = recipe.layers.values.filter { !$0.overrides.isEmpty }.count
        #expect(overridden == layers.filter { $0["overridden"] as? Bool == true }.count)
        #expect(overridden <= 7, "the defaults are the most common choice")

        let q = try BinaryRunner.run([
            "quantize-model", source, "--recipe", dir + "/recipe.json", "--out", dir + "/q", "--json",
        ])
        #expect(q.status == 0, "\(q.stderr)")
        let achieved = try #require(try Self.json(q.stdout)["totals"] as? [String: Any])
        #expect(try #require(achieved["avg_bits"] as? Double) <= 3.3)
        #expect(achieved["avg_bits"] as? Double == predicted, "the same runs: H = I for both")
        #expect(achieved["bytes_spqr_storage"] as? Int == totals["bytes"] as? Int)

        // Again: every layer from the cache, the same choice.
        let again = try BinaryRunner.run(allocate + ["--force"])
        #expect(again.status == 0, "\(again.stderr)")
        let second = try Self.json(again.stdout)
        #expect(second["cached_layers"] as? Int == 14 && second["measured_layers"] as? Int == 0)
        #expect((second["totals"] as? [String: Any])?["avg_bits"] as? Double == predicted)

        // A size target counts the kept tensors; the table names the error weight and the gap.
        let sized = try BinaryRunner.run([
            "allocate", source, "--target-size", "10kB", "--menu", Self.menu, "--cache", dir + "/cache",
            "--out", dir + "/sized.json",
        ])
        #expect(sized.status == 0, "\(sized.stderr)")
        #expect(sized.stdout.contains("error weight") && sized.stdout.contains("Lagrangian bound"))
        #expect(sized.stdout.contains("model bytes"))
    }

    @Test("allocate --text: each layer's error weighted by its sensitivity on the model, cached, and applied")
    func sensitivity() throws {
        let (dir, source) = try QuantizeModelEndToEndTests.scratchWithTinyLlama("allocate-text", tokenizer: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = dir + "/text.txt"
        let sentence = "A hacker is a person who enjoys exploring the details of programmable systems. "
        try String(repeating: sentence, count: 8).write(toFile: text, atomically: true, encoding: .utf8)
        let allocate = [
            "allocate", source, "--target-bits", "3.3", "--menu", Self.menu, "--cache", dir + "/cache",
            "--text", text, "--nsamples", "2", "--seqlen", "24", "--out", dir + "/recipe.json", "--json",
        ]
        let run = try BinaryRunner.run(allocate)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("allocate: sensitivity: 13/14 layers"), "\(run.stderr)")
        let report = try Self.json(run.stdout)
        let weight = try #require(report["error_weight"] as? String)
        #expect(weight.contains("predicted KL") && weight.contains("2 windows × 24 tokens"), "\(weight)")
        let layers = try #require(report["layers"] as? [[String: Any]])
        #expect(layers.count == 14)
        var sum = 0.0
        for l in layers {
            let kl = try #require(l["sensitivity_kl"] as? Double)
            let s = try #require(l["sensitivity"] as? Double)
            let proxy = try #require(l["proxy_loss"] as? Double)
            let error = try #require(l["error"] as? Double)
            #expect(kl > 0 && s > 0)
            #expect(abs(error - s * proxy) <= 1e-12 * error, "\(l["layer"] ?? "")")
            sum += error
        }
        let totals = try #require(report["totals"] as? [String: Any])
        #expect(abs(try #require(totals["error"] as? Double) - sum) <= 1e-9 * sum)
        #expect(try #require(totals["avg_bits"] as? Double) <= 3.3)
        let cached = try FileManager.default.contentsOfDirectory(atPath: dir + "/cache")
        #expect(cached.filter { $0.contains("-sensitivity-") }.count == 1, "\(cached)")

        // Again: the same report from the cache; the recipe applies.
        let again = try BinaryRunner.run(allocate + ["--force"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(!again.stderr.contains("sensitivity: 0/14"), "no layer is run again: \(again.stderr)")
        #expect(
            (try Self.json(again.stdout)["layers"] as? [[String: Any]])?.compactMap { $0["sensitivity"] as? Double }
                == layers.compactMap { $0["sensitivity"] as? Double })
        let q = try BinaryRunner.run([
            "quantize-model", source, "--recipe", dir + "/recipe.json", "--out", dir + "/q", "--json",
        ])
        #expect(q.status == 0, "\(q.stderr)")
    }

    @Test("targets out of reach are refused with what the menu reaches; two targets, bad units and menus at once")
    func refusals() throws {
        let (dir, source) = try QuantizeModelEndToEndTests.scratchWithTinyLlama("allocate-refusals")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = ["--menu", Self.menu, "--cache", dir + "/cache", "--out", dir + "/r.json"]
        let low = try BinaryRunner.run(["allocate", source, "--target-bits", "2"] + common)
        #expect(low.status == 1 && low.stderr.contains("the least this menu gives is"), "\(low.stderr)")
        let small = try BinaryRunner.run(["allocate", source, "--target-size", "1kB"] + common)
        #expect(small.status == 1 && small.stderr.contains("kept parameters at fp16"), "\(small.stderr)")
        let two = try BinaryRunner.run(["allocate", source, "--target-bits", "3", "--max-error", "1"] + common)
        #expect(two.status == 2 && two.stderr.contains("give one target"))
        let unit = try BinaryRunner.run(["allocate", source, "--target-size", "3XB"] + common)
        #expect(unit.status == 1 && unit.stderr.contains("GiB"), "\(unit.stderr)")
        let menu = try BinaryRunner.run([
            "allocate", source, "--target-bits", "3", "--menu", "bits=3", "--out", dir + "/r.json",
        ])
        #expect(menu.status == 1 && menu.stderr.contains("unknown setting 'bits'"))
        // A sensitivity text that cannot be read fails before any layer is measured.
        let text = try BinaryRunner.run(
            ["allocate", source, "--target-bits", "3", "--text", dir + "/none.txt"] + common)
        #expect(text.status == 1 && text.stderr.contains("none.txt: cannot read the text file"), "\(text.stderr)")
        #expect(!text.stderr.contains("measuring"))
        let windows = try BinaryRunner.run(["allocate", source, "--target-bits", "3", "--nsamples", "0"] + common)
        #expect(windows.status == 2 && windows.stderr.contains("--nsamples must be at least 1"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/r.json"))
    }
}
