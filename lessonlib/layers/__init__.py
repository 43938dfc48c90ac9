"""The layers floor: batch norm, softmax and cross-entropy, activations. numpy only; imports
only the core floor."""
