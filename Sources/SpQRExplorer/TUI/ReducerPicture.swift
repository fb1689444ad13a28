// `P` in the layer view: the heatmap as it is shown (mode, pooling, zoom, column order, colour range)
// written as a PNG picture (Picture/HeatmapPicture.swift) beside the model, named after the layer, the
// mode and the region; a name already taken gets -2, -3, … The effect runner draws and writes it off the
// input loop, and the status line says where it went.

import Foundation

/// A picture to write: where, and what.
struct PictureJob: Equatable, Sendable {
    /// The path to write, or the first free one of `path` with -2, -3, … before `.png`.
    var path: String
    var request: HeatmapPicture.Request

    static func == (a: PictureJob, b: PictureJob) -> Bool {
        a.path == b.path && a.request.layer == b.request.layer && a.request.mode == b.request.mode
            && a.request.pooling == b.request.pooling && a.request.rows == b.request.rows
            && a.request.cols == b.request.cols && a.request.wholeLayerRange == b.request.wholeLayerRange
            && a.request.maps.isSame(b.request.maps)
    }

    /// The first of `path`, `stem-2.png`, `stem-3.png`, … that does not exist.
    static func freePath(_ path: String) -> String {
        guard FileManager.default.fileExists(atPath: path) else { return path }
        let stem = path.hasSuffix(".png") ? String(path.dropLast(4)) : path
        var k = 2
        while FileManager.default.fileExists(atPath: "\(stem)-\(k).png") { k += 1 }
        return "\(stem)-\(k).png"
    }

    /// The picture's default name beside the checkpoint: `<layer>.<mode>[.rows-A-B.cols-C-D][.gptq-order].png`.
    static func defaultPath(checkpoint: String, request q: HeatmapPicture.Request) -> String {
        var isDirectory: ObjCBool = false
        let dir =
            FileManager.default.fileExists(atPath: checkpoint, isDirectory: &isDirectory) && isDirectory.boolValue
            ? checkpoint : (checkpoint as NSString).deletingLastPathComponent
        let layer = q.layer.hasSuffix(".weight") ? String(q.layer.dropLast(7)) : q.layer
        let modes: [HeatmapMode: String] = [
            .weight: "weight", .sensitivity: "sensitivity", .outliers: "outliers", .error: "error", .delta: "delta",
        ]
        var name = "\(layer).\(modes[q.mode]!)"
        if q.rows != 0..<q.maps.rows || q.cols != 0..<q.maps.cols {
            name +=
                ".rows-\(q.rows.lowerBound)-\(q.rows.upperBound - 1).cols-\(q.cols.lowerBound)-\(q.cols.upperBound - 1)"
        }
        if q.maps.shownColumns != nil { name += ".gptq-order" }
        return (dir.isEmpty ? "." : dir) + "/" + name + ".png"
    }
}

extension Reducer {
    /// Asks for a picture of the heatmap as shown.
    static func picture(_ s: inout AppState) -> [Effect] {
        guard let layer = s.layer, let maps = layer.maps.map(s.displayedMaps), let g = geometry(s) else {
            setMessage(&s, "no heatmap to write yet: the picture can be taken once the full layer is done", error: true)
            return []
        }
        let v = s.viewport
        let request = HeatmapPicture.Request(
            maps: maps, layer: layer.name, mode: s.mode, pooling: s.pooling, rows: v.row0..<v.row0 + g.visibleRows,
            cols: v.col0..<v.col0 + g.visibleCols, wholeLayerRange: s.wholeLayerRange)
        let path = PictureJob.defaultPath(checkpoint: s.checkpointPath, request: request)
        setMessage(&s, "writing the picture…", error: false)
        return [.writePicture(PictureJob(path: path, request: request))]
    }
}
