// The reducer's text prompts (filter, export path, recipe to open, overwrite and apply-to-layers
// confirmations) and the exports they start.

import Foundation
import SpQRCore

extension Reducer {
    static let defaultRecipePath = "spqr-recipe.json"

    /// A key while a prompt is open: the prompt takes every key.
    static func promptKey(_ s: inout AppState, _ k: Key) -> [Effect] {
        guard var p = s.prompt else { return [] }
        if case .confirmOverwrite(let path) = p.kind {
            s.prompt = nil
            if k == .char("y") || k == .char("Y") { return export(&s, path: path, overwrite: true) }
            setMessage(&s, "export cancelled; \(path) left as it was", error: false)
            return []
        }
        if case .confirmApply(let scope, _) = p.kind {
            s.prompt = nil
            if k == .char("y") || k == .char("Y") {
                apply(&s, to: scope)
            } else {
                setMessage(&s, "nothing applied; every layer keeps its settings", error: false)
            }
            return []
        }
        if case .confirmAllocation = p.kind {
            s.prompt = nil
            confirmAllocation(&s, yes: k == .char("y") || k == .char("Y"))
            return []
        }
        switch k {
        case .escape:
            s.prompt = nil
            guard p.kind == .filter else { return [] }
            s.filter = ""
            return statisticsEffect(s)
        case .enter:
            s.prompt = nil
            return submit(&s, p)
        default:
            guard edit(&p.text, k) else { return [] }
            s.prompt = p
            // The filter applies while it is typed.
            guard p.kind == .filter else { return [] }
            s.filter = p.text
            s.selection = 0
            s.browserScroll = 0
            return statisticsEffect(s)
        }
    }

    /// Edits a prompt's text with `k`; false when the key is not an edit.
    static func edit(_ text: inout String, _ k: Key) -> Bool {
        switch k {
        case .backspace, .delete:
            if !text.isEmpty { text.removeLast() }
            return true
        case .char(let c):
            text.append(c)
            return true
        default:
            return false
        }
    }

    /// What Enter does with a prompt's text.
    static func submit(_ s: inout AppState, _ p: Prompt) -> [Effect] {
        switch p.kind {
        case .filter:
            s.filter = p.text
            return statisticsEffect(s)
        case .exportPath:
            guard let path = path(p.text) else {
                setMessage(&s, "no path given; nothing written", error: true)
                return []
            }
            return export(&s, path: path, overwrite: false)
        case .openRecipe:
            guard let path = path(p.text) else { return [] }
            return [.importRecipe(path: path)]
        case .confirmOverwrite, .confirmApply, .confirmAllocation:
            return []
        }
    }

    /// A path typed at a prompt, without surrounding blanks; nil when nothing was typed.
    static func path(_ text: String) -> String? {
        let path = text.trimmingCharacters(in: .whitespaces)
        return path.isEmpty ? nil : path
    }

    /// Starts an export (one at a time).
    static func export(_ s: inout AppState, path: String, overwrite: Bool) -> [Effect] {
        if let e = s.exporting {
            setMessage(&s, "an export to \(e.path) is under way; wait for it or press Esc to cancel it", error: true)
            return []
        }
        s.exportID += 1
        s.exporting = ExportStatus(id: s.exportID, path: path)
        s.message = nil
        return [.exportRecipe(id: s.exportID, path: path, overwrite: overwrite, payload: payload(s))]
    }

    /// What an export writes: the session defaults, and every measured or overridden layer with its
    /// settings (the recipe keeps only their differences from the defaults) and its figures only when they
    /// were measured at those settings (a layer still being re-measured is written without figures).
    static func payload(_ s: AppState) -> RecipePayload {
        let names = Set(s.reports.keys).union(s.overrides.keys)
        var configs: [String: SpQRConfig] = [:]
        var shapes: [String: [Int]] = [:]
        for name in names { configs[name] = s.config(for: name) }
        for r in s.rows where names.contains(r.name) { shapes[r.name] = r.shape }
        let reports = s.reports.filter { configs[$0.key] == $0.value.config }
        return RecipePayload(defaults: s.defaults, configs: configs, shapes: shapes, reports: reports)
    }
}
