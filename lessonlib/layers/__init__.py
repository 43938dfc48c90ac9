"""The layers floor: batch norm, layer norm, softmax and cross-entropy, activations, and
their gradients by automatic differentiation (``autodiff``; autograd is imported only when
a gradient is computed). Imports only the core floor."""
