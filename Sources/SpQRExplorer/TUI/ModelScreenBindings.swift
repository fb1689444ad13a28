// The model screen's rows of the key-binding table (KeyBindings.swift): M opens the screen from the
// layer list and the layer view (and, on the screen, measures again after a stop or a failure); inside it
// the arrows move over the grid and these keys apply.

extension KeyBindings {
    static let modelScreen: [KeyBinding] = [
        KeyBinding(
            keys: [.char("M")], label: "M", action: .model(.open), context: .everywhere,
            help: "model screen: all layers, bits allocated to a budget", footer: false),
        KeyBinding(
            keys: [.escape, .backspace, .char("b")], label: "Esc", action: .model(.close), context: .model,
            help: "back to the layer list", footer: true),
        KeyBinding(
            keys: [.left, .char("h")], label: "←/h", action: .left, context: .model, help: "previous layer type",
            footer: false),
        KeyBinding(
            keys: [.right, .char("l")], label: "→/l", action: .right, context: .model, help: "next layer type",
            footer: false),
        KeyBinding(
            keys: [.enter], label: "Enter", action: .model(.openLayer), context: .model,
            help: "open the layer under the cursor", footer: false),
        KeyBinding(
            keys: [.char("c")], label: "c", action: .model(.figure), context: .model,
            help: "next figure: bits, proxy error, outliers, sensitivity", footer: false),
        KeyBinding(
            keys: [.char("[")], label: "[", action: .model(.budget(-ModelScreenState.smallStep)), context: .model,
            help: "target average bits − 0.1", footer: false),
        KeyBinding(
            keys: [.char("]")], label: "[ ]", action: .model(.budget(ModelScreenState.smallStep)), context: .model,
            help: "target average bits + 0.1", footer: true),
        KeyBinding(
            keys: [.char("{")], label: "{", action: .model(.budget(-ModelScreenState.largeStep)), context: .model,
            help: "target average bits − 0.5", footer: false),
        KeyBinding(
            keys: [.char("}")], label: "}", action: .model(.budget(ModelScreenState.largeStep)), context: .model,
            help: "target average bits + 0.5", footer: false),
        KeyBinding(
            keys: [.char("A")], label: "A", action: .model(.apply), context: .model,
            help: "apply: common setting the defaults, others overrides", footer: true),
        KeyBinding(
            keys: [.char("x")], label: "x", action: .model(.stopMeasurement), context: .model,
            help: "stop measuring (layers done stay in the cache)", footer: false),
    ]
}
