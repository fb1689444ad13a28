// Reading values out of JSONSerialization results, which hand back NSNumber for integers, fractions
// and booleans alike: an integer is an NSNumber that is not a boolean (objCType "c") and converts to Int
// exactly.

import Foundation

/// Reading values out of `JSONSerialization` results.
enum JSONValue {
    /// An exact integer (not a boolean, not a fraction).
    static func integer(_ x: Any) -> Int? {
        guard let n = x as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
        return x as? Int
    }
}
