"""A small fully connected network in course notation, trained with mini-batches.

``X`` is ``(n_x, m)``; layer ``l`` has ``W[l]`` of shape ``(n_l, n_{l-1})`` and ``b[l]`` of
shape ``(n_l, 1)``; hidden units are ReLU, tanh or sigmoid; the output layer is a softmax
over ``C`` classes trained with the cross-entropy cost. Optimizers: plain gradient
descent, momentum and Adam. Introduced in notebook 01 (the model a random search tunes).

With ``batch_norm=True`` every hidden layer normalizes its ``Z[l]`` over the mini-batch
right after the linear step and before the activation (notebook 03)::

    Z[l] = W[l] A[l-1]                      (no b[l]: batch norm would cancel it)
    Z_tilde[l] = gamma[l] * Z_hat[l] + beta[l],  Z_hat[l] = (Z[l] - mu) / sqrt(var + eps)
    A[l] = g(Z_tilde[l])

so those layers have ``W``, ``gamma`` and ``beta`` (each ``(n_l, 1)``); the output layer
keeps its ``b``. The statistics are those of the batch the network is given (training
mode), so evaluate a batch-normalized network on batches of many examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._threads import one_blas_thread
from ._validate import as_float_array, as_int, as_labels, as_real, as_rng
from .batchnorm import _bn_backward, _bn_forward
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

    ``batch_norm=True`` puts batch norm after the linear step of every hidden layer: those
    layers get ``"gamma{l}"`` (ones) and ``"beta{l}"`` (zeros) of shape ``(n_l, 1)`` instead
    of ``"b{l}"``, and ``eps`` is the constant inside the square root. The weights are the
    same draws as without batch norm, so a comparison starts from the same initialization.
    ``bn_bias=True`` keeps a ``b{l}`` in front of batch norm anyway, only to show that it
    does nothing (its gradient is zero; notebook 03).
    """

    def __init__(self, layer_dims, *, activation: str = "relu", batch_norm: bool = False,
                 bn_bias: bool = False, eps: float = 1e-5, rng: np.random.Generator):
        if isinstance(layer_dims, (str, bytes)) or not hasattr(layer_dims, "__iter__"):
            raise TypeError(f"layer_dims must be a list of layer sizes [n_x, n_1, ..., C], "
                            f"got {type(layer_dims).__name__}")
        dims = [as_int(f"layer_dims[{i}]", d, low=1) for i, d in enumerate(layer_dims)]
        if len(dims) < 2:
            raise ValueError(f"layer_dims must list at least n_x and C, got {list(layer_dims)}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        for name, flag in (("batch_norm", batch_norm), ("bn_bias", bn_bias)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {flag!r}")
        if bn_bias and not batch_norm:
            raise ValueError("bn_bias=True only makes sense with batch_norm=True")
        self.eps = as_real("eps", eps, low=0, low_inclusive=False)
        rng = as_rng(rng)
        self.layer_dims = dims
        self.activation = activation
        self.batch_norm = bool(batch_norm)
        self.params: dict[str, np.ndarray] = {}
        gain = 2.0 if activation == "relu" else 1.0
        for layer in range(1, len(dims)):
            scale = np.sqrt(gain / dims[layer - 1])
            self.params[f"W{layer}"] = scale * rng.standard_normal((dims[layer],
                                                                    dims[layer - 1]))
            if not self._has_bn(layer) or bn_bias:
                self.params[f"b{layer}"] = np.zeros((dims[layer], 1))
            if self._has_bn(layer):
                self.params[f"gamma{layer}"] = np.ones((dims[layer], 1))
                self.params[f"beta{layer}"] = np.zeros((dims[layer], 1))

    @property
    def n_layers(self) -> int:
        return len(self.layer_dims) - 1

    def _has_bn(self, layer: int) -> bool:
        """Whether layer ``l`` (1-based) is followed by batch norm: hidden layers only."""
        return self.batch_norm and layer < self.n_layers

    def _check_X(self, X) -> np.ndarray:
        X = as_float_array("X", X, ndim=2)
        if X.shape[0] != self.layer_dims[0]:
            raise ValueError(f"X must have shape ({self.layer_dims[0]}, m), got {X.shape}")
        if self.batch_norm and X.shape[1] < 2:
            raise ValueError(f"X must hold at least 2 examples (columns) for a network with "
                             f"batch norm, got shape {X.shape}: batch norm normalizes each "
                             "unit over the examples of the batch")
        return X

    def _normalize(self, layer: int, Z: np.ndarray):
        """Batch norm of layer ``l`` with the batch's own mean and variance (training mode).

        The one place that decides which statistics normalize ``Z[l]``: test-time running
        averages (notebook 04) belong here.
        """
        return _bn_forward(Z, self.params[f"gamma{layer}"], self.params[f"beta{layer}"],
                           self.eps)

    def forward(self, X) -> tuple[np.ndarray, list]:
        """Logits ``Z[L]`` of shape ``(C, m)`` and the caches the backward pass needs.

        Each layer's cache is ``(A[l-1], Z[l], bn_cache or None, input of the activation)``.
        """
        A = self._check_X(X)
        caches = []
        for layer in range(1, self.n_layers + 1):
            b = self.params.get(f"b{layer}")
            Z = self.params[f"W{layer}"] @ A if b is None else self.params[f"W{layer}"] @ A + b
            bn_cache = None
            pre = Z
            if self._has_bn(layer):
                pre, bn_cache = self._normalize(layer, Z)
            caches.append((A, Z, bn_cache, pre))
            if layer < self.n_layers:
                A = _activate(pre, self.activation)
        return Z, caches

    def backward(self, dZL: np.ndarray, caches: list) -> dict[str, np.ndarray]:
        """Gradients ``{"dW1": ..., "db1": ...}`` from ``dZL = d cost / d Z[L]`` (``(C, m)``).

        Batch-normalized layers also get ``"dgamma{l}"`` and ``"dbeta{l}"``.
        """
        grads = {}
        dZ = dZL
        for layer in range(self.n_layers, 0, -1):
            A_prev, _, bn_cache, _ = caches[layer - 1]
            if bn_cache is not None:                 # dZ holds d cost / d Z_tilde[l]
                dZ, dgamma, dbeta = _bn_backward(dZ, bn_cache)
                grads[f"dgamma{layer}"], grads[f"dbeta{layer}"] = dgamma, dbeta
            grads[f"dW{layer}"] = dZ @ A_prev.T
            if f"b{layer}" in self.params:
                grads[f"db{layer}"] = dZ.sum(axis=1, keepdims=True)
            if layer > 1:
                dA = self.params[f"W{layer}"].T @ dZ
                pre_prev = caches[layer - 2][3]
                dZ = dA * _activate_grad(A_prev, pre_prev, self.activation)
        return grads

    def cost(self, X, y) -> float:
        """Mean cross-entropy cost over the ``m`` columns of ``X`` with labels ``y``."""
        ZL, _ = self.forward(X)
        y = as_labels("y", y, self.layer_dims[-1])
        if y.size != ZL.shape[1]:
            raise ValueError(f"y must have shape ({ZL.shape[1]},) to match X, got {y.shape}")
        return softmax_cross_entropy(ZL, one_hot(y, self.layer_dims[-1]))[0]

    def gradients(self, X, y) -> tuple[float, dict[str, np.ndarray]]:
        """``(cost, grads)`` on the batch ``X`` (``(n_x, m)``) with labels ``y`` (``(m,)``)."""
        ZL, caches = self.forward(X)
        y = as_labels("y", y, self.layer_dims[-1])
        if y.size != ZL.shape[1]:
            raise ValueError(f"y must have shape ({ZL.shape[1]},) to match X, got {y.shape}")
        cost, dZL = softmax_cross_entropy(ZL, one_hot(y, self.layer_dims[-1]))
        return cost, self.backward(dZL, caches)

    def hidden_input(self, X, layer: int) -> np.ndarray:
        """The input of hidden layer ``layer``'s activation, ``(n_layer, m)``.

        That is ``Z[layer]``, or ``Z_tilde[layer]`` (after batch norm) when the layer has
        batch norm: what the sigmoid of Ioffe & Szegedy's Figure 1 receives.
        """
        if self.n_layers < 2:
            raise ValueError("the network has no hidden layer (layer_dims = "
                             f"{self.layer_dims})")
        layer = as_int("layer", layer, low=1, high=self.n_layers - 1)
        return self.forward(X)[1][layer - 1][3]

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
                 history: dict | None = None, on_step=None) -> dict:
    """Train ``net`` for ``epochs`` passes over shuffled mini-batches of ``X`` (``(n_x, m)``).

    Appends to ``history`` (a new one if None) after each epoch: ``"cost"`` (mean training
    cost over the epoch's mini-batches), ``"train_acc"`` and, with validation data,
    ``"val_acc"``. A run whose logits become NaN or infinite (too large a learning rate)
    stops and sets ``history["diverged"] = True``. Returns the history.

    ``on_step(step, net, cost)``, if given, is called after every update with
    ``step = optimizer.t`` (updates made so far) and that mini-batch's cost; it may record
    anything (notebook 03 records a unit's percentiles every few steps) and returns
    ``True`` to stop training there (``history["stopped"] = True``). With batch norm a
    last mini-batch of a single example is skipped (its variance is 0).
    """
    X = net._check_X(X)
    C = net.layer_dims[-1]
    y = as_labels("y", y, C)
    if y.size != X.shape[1]:
        raise ValueError(f"y must have shape ({X.shape[1]},) to match X, got {y.shape}")
    epochs = as_int("epochs", epochs, low=0)
    batch_size = as_int("batch_size", batch_size, low=1)
    rng = as_rng(rng)
    if on_step is not None and not callable(on_step):
        raise TypeError(f"on_step must be a function (step, net, cost) or None, got "
                        f"{type(on_step).__name__}")
    has_val = X_val is not None
    if has_val:
        X_val = net._check_X(X_val)
        y_val = as_labels("y_val", y_val, C)
    history = history if history is not None else {"cost": [], "train_acc": [], "val_acc": []}
    Y = one_hot(y, C)
    m = X.shape[1]
    with one_blas_thread():   # small products: one BLAS thread is faster
        for _ in range(epochs):
            order = rng.permutation(m)
            costs = []
            stop = False
            for start in range(0, m, batch_size):
                idx = order[start:start + batch_size]
                if net.batch_norm and idx.size < 2:
                    continue
                ZL, caches = net.forward(X[:, idx])
                if not np.isfinite(ZL).all():      # the learning rate made training diverge
                    history["diverged"] = True
                    break
                cost, dZL = softmax_cross_entropy(ZL, Y[:, idx])
                optimizer.step(net.params, net.backward(dZL, caches))
                costs.append(cost)
                if on_step is not None and on_step(optimizer.t, net, cost):
                    history["stopped"] = stop = True
                    break
            history["cost"].append(float(np.mean(costs)) if costs else float("nan"))
            history["train_acc"].append(net.accuracy(X, y))
            if has_val:
                history["val_acc"].append(net.accuracy(X_val, y_val))
            if history.get("diverged") or stop:
                break
    return history
