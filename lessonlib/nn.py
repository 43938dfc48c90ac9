"""A small fully connected network in course notation, trained with mini-batches.

``X`` is ``(n_x, m)``; layer ``l`` has ``W[l]`` of shape ``(n_l, n_{l-1})`` and ``b[l]`` of
shape ``(n_l, 1)``; hidden units are ReLU, tanh or sigmoid; the output layer is a softmax
over ``C`` classes trained with the cross-entropy cost. Optimizers: plain gradient
descent, momentum and Adam. Introduced in notebook 01 (the model a random search tunes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import as_float_array, as_int, as_labels, as_real, as_rng
from .softmax import one_hot, softmax, softmax_cross_entropy

ACTIVATIONS = ("relu", "tanh", "sigmoid")
OPTIMIZERS = ("gd", "momentum", "adam")


def _activate(Z: np.ndarray, kind: str) -> np.ndarray:
    if kind == "relu":
        return np.maximum(Z, 0)
    if kind == "tanh":
        return np.tanh(Z)
    return 0.5 * (1 + np.tanh(0.5 * Z))            # sigmoid without overflow


def _activate_grad(A: np.ndarray, Z: np.ndarray, kind: str) -> np.ndarray:
    if kind == "relu":
        return (Z > 0).astype(A.dtype)
    if kind == "tanh":
        return 1 - A * A
    return A * (1 - A)


class Network:
    """Fully connected network: hidden layers of ``activation`` units, softmax output.

    ``layer_dims = [n_x, n_1, ..., C]``. Weights are drawn from ``rng`` (He scaling for ReLU,
    Xavier for tanh and sigmoid); biases start at 0. ``params`` maps ``"W1"``, ``"b1"``, ...
    to arrays.
    """

    def __init__(self, layer_dims, *, activation: str = "relu", rng: np.random.Generator):
        dims = [as_int(f"layer_dims[{i}]", d, low=1) for i, d in enumerate(layer_dims)]
        if len(dims) < 2:
            raise ValueError(f"layer_dims must list at least n_x and C, got {list(layer_dims)}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        rng = as_rng(rng)
        self.layer_dims = dims
        self.activation = activation
        self.params: dict[str, np.ndarray] = {}
        gain = 2.0 if activation == "relu" else 1.0
        for l in range(1, len(dims)):
            scale = np.sqrt(gain / dims[l - 1])
            self.params[f"W{l}"] = scale * rng.standard_normal((dims[l], dims[l - 1]))
            self.params[f"b{l}"] = np.zeros((dims[l], 1))

    @property
    def n_layers(self) -> int:
        return len(self.layer_dims) - 1

    def _check_X(self, X) -> np.ndarray:
        X = as_float_array("X", X, ndim=2)
        if X.shape[0] != self.layer_dims[0]:
            raise ValueError(f"X must have shape ({self.layer_dims[0]}, m), got {X.shape}")
        return X

    def forward(self, X) -> tuple[np.ndarray, list]:
        """Logits ``Z[L]`` of shape ``(C, m)`` and the caches the backward pass needs."""
        A = self._check_X(X)
        caches = []
        for l in range(1, self.n_layers + 1):
            Z = self.params[f"W{l}"] @ A + self.params[f"b{l}"]
            caches.append((A, Z))
            if l < self.n_layers:
                A = _activate(Z, self.activation)
        return Z, caches

    def backward(self, dZL: np.ndarray, caches: list) -> dict[str, np.ndarray]:
        """Gradients ``{"dW1": ..., "db1": ...}`` from ``dZL = d cost / d Z[L]`` (``(C, m)``)."""
        grads = {}
        dZ = dZL
        for l in range(self.n_layers, 0, -1):
            A_prev, _ = caches[l - 1]
            grads[f"dW{l}"] = dZ @ A_prev.T
            grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True)
            if l > 1:
                dA = self.params[f"W{l}"].T @ dZ
                Z_prev = caches[l - 2][1]
                dZ = dA * _activate_grad(A_prev, Z_prev, self.activation)
        return grads

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(C, m)``."""
        return softmax(self.forward(X)[0])

    def predict(self, X) -> np.ndarray:
        """Predicted labels ``(m,)``."""
        return self.forward(X)[0].argmax(axis=0)

    def accuracy(self, X, y) -> float:
        """Fraction of the ``m`` columns of ``X`` whose predicted label equals ``y``."""
        y = as_labels("y", y, self.layer_dims[-1])
        return float(np.mean(self.predict(X) == y))


@dataclass
class Optimizer:
    """Parameter updates: ``"gd"``, ``"momentum"`` (EMA weight ``beta1``) or ``"adam"``.

    ``learning_rate`` may be changed between steps (babysitting a model does just that).
    """

    kind: str = "momentum"
    learning_rate: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    t: int = 0
    state: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.kind!r}")
        self.learning_rate = as_real("learning_rate", self.learning_rate, low=0,
                                     low_inclusive=False)
        self.beta1 = as_real("beta1", self.beta1, low=0, high=1, high_inclusive=False)
        self.beta2 = as_real("beta2", self.beta2, low=0, high=1, high_inclusive=False)
        self.epsilon = as_real("epsilon", self.epsilon, low=0, low_inclusive=False)

    def step(self, params: dict, grads: dict) -> None:
        """Update ``params`` in place from ``grads`` (keys ``"d" + name``)."""
        self.t += 1
        lr = self.learning_rate
        for name, p in params.items():
            g = grads["d" + name]
            if self.kind == "gd":
                p -= lr * g
                continue
            v = self.state.setdefault("v" + name, np.zeros_like(p))
            v *= self.beta1
            v += (1 - self.beta1) * g
            if self.kind == "momentum":
                p -= lr * v
                continue
            s = self.state.setdefault("s" + name, np.zeros_like(p))
            s *= self.beta2
            s += (1 - self.beta2) * g * g
            v_hat = v / (1 - self.beta1 ** self.t)
            s_hat = s / (1 - self.beta2 ** self.t)
            p -= lr * v_hat / (np.sqrt(s_hat) + self.epsilon)


def train_epochs(net: Network, optimizer: Optimizer, X, y, *, epochs: int, batch_size: int,
                 rng: np.random.Generator, X_val=None, y_val=None,
                 history: dict | None = None) -> dict:
    """Train ``net`` for ``epochs`` passes over shuffled mini-batches of ``X`` (``(n_x, m)``).

    Appends to ``history`` (a new one if None) after each epoch: ``"cost"`` (mean training
    cost over the epoch's mini-batches), ``"train_acc"`` and, with validation data,
    ``"val_acc"``. A run whose logits become NaN or infinite (too large a learning rate)
    stops and sets ``history["diverged"] = True``. Returns the history.
    """
    X = net._check_X(X)
    C = net.layer_dims[-1]
    y = as_labels("y", y, C)
    if y.size != X.shape[1]:
        raise ValueError(f"y must have shape ({X.shape[1]},) to match X, got {y.shape}")
    epochs = as_int("epochs", epochs, low=0)
    batch_size = as_int("batch_size", batch_size, low=1)
    rng = as_rng(rng)
    has_val = X_val is not None
    if has_val:
        X_val = net._check_X(X_val)
        y_val = as_labels("y_val", y_val, C)
    history = history if history is not None else {"cost": [], "train_acc": [], "val_acc": []}
    Y = one_hot(y, C)
    m = X.shape[1]
    for _ in range(epochs):
        order = rng.permutation(m)
        costs = []
        for start in range(0, m, batch_size):
            idx = order[start:start + batch_size]
            ZL, caches = net.forward(X[:, idx])
            if not np.isfinite(ZL).all():      # the learning rate made training diverge
                history["diverged"] = True
                break
            cost, dZL = softmax_cross_entropy(ZL, Y[:, idx])
            optimizer.step(net.params, net.backward(dZL, caches))
            costs.append(cost)
        history["cost"].append(float(np.mean(costs)) if costs else float("nan"))
        history["train_acc"].append(net.accuracy(X, y))
        if has_val:
            history["val_acc"].append(net.accuracy(X_val, y_val))
        if history.get("diverged"):
            break
    return history
