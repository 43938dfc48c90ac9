"""A small fully connected network in course notation, trained with mini-batches.

``X`` is ``(n_x, m)``; layer ``l`` has ``W[l]`` of shape ``(n_l, n_{l-1})`` and ``b[l]`` of
shape ``(n_l, 1)``; hidden units are ReLU, tanh or sigmoid; the output layer is a softmax
over ``C`` classes trained with the cross-entropy cost. Optimizers: plain gradient
descent, momentum and Adam. Introduced in notebook 01 (the model a random search tunes).

The gradients are automatic differentiation (``layers.autodiff``, which needs autograd) of
the cost through the forward pass, with respect to every parameter; no backward pass is
written out. The forward pass, predictions and the cost need only numpy.

With ``batch_norm=True`` every hidden layer normalizes its ``Z[l]`` over the mini-batch
right after the linear step and before the activation (notebook 03)::

    Z[l] = W[l] A[l-1]                      (no b[l]: batch norm would cancel it)
    Z_tilde[l] = gamma[l] * Z_hat[l] + beta[l],  Z_hat[l] = (Z[l] - mu) / sqrt(var + eps)
    A[l] = g(Z_tilde[l])

so those layers have ``W``, ``gamma`` and ``beta`` (each ``(n_l, 1)``); the output layer
keeps its ``b``.

**Training and evaluation mode** (notebook 04). Each batch-normalized layer also keeps
running averages of its batch statistics (a ``layers.batchnorm.BatchNorm`` in
``net.bn_layers``, which the network calls through its ``forward``).
In training mode (``net.train()``, the default) ``forward`` normalizes with the batch's own
statistics; in evaluation mode (``net.eval()``) with the running averages, so that each
example's output depends on that example alone and a batch of one example works. Any
call also takes ``training=True`` or ``False`` to override the mode for that call only.

- The running averages move only in a training step: ``gradients`` in training mode, and
  ``train_epochs`` on each mini-batch. ``forward``, ``cost``, ``hidden_input`` and
  ``predict`` never update them.
- ``predict``, ``predict_proba`` and ``accuracy`` are inference: they use the running
  statistics in evaluation mode and, in training mode, as soon as the network has taken a
  training step; before any (when the running averages are still their start values 0
  and 1) they fall back on the batch's statistics.
- ``population_statistics`` computes every layer's mean and variance over the training set
  (Ioffe & Szegedy's Algorithm 2), ``Network.set_running_statistics`` installs them, and
  ``fold_network`` folds inference-mode batch norm into ``W`` and ``b`` layer by layer
  (with ``layers.batchnorm.fold_batchnorm``, exercise 4.2's stand-in, or the learner's).
- ``evaluate`` is the lecture's test-time rule: the accuracy in evaluation mode, whatever
  the network's mode (the stand-in of exercise 6.2, notebook 06).

The optimizers are in ``lessonlib.optim``.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, MutableMapping

import numpy as np

from .core.memory import tune_allocator
from .core.stand_ins import stand_in
from .core.threads import one_blas_thread
from .core.validate import (
    as_column,
    as_decay,
    as_float_array,
    as_int,
    as_labels,
    as_real,
    as_rng,
    as_variance,
)
from .layers.activations import ACTIVATIONS, activate
from .layers.autodiff import value, vjp
from .layers.batchnorm import BatchNorm, as_bn_functions, fold_batchnorm
from .layers.layernorm import LayerNorm
from .layers.softmax import cross_entropy_of_softmax, one_hot, softmax
from .optim import Optimizer


class Parameters(MutableMapping):
    """``net.params``: ``"W1"``, ``"b1"``, ... in layer order, each an array.

    A batch-normalized layer's ``"gamma{l}"`` and ``"beta{l}"`` are its ``BatchNorm``'s own
    arrays: reading one gives the layer's array, assigning one sets the layer's, so each
    parameter has exactly one owner. Every other entry is held here.
    """

    def __init__(self):
        self._held: dict[str, np.ndarray] = {}
        self._owners: dict[str, tuple[BatchNorm, str]] = {}
        self._order: dict[str, None] = {}

    def attach(self, key: str, layer: BatchNorm, attribute: str) -> None:
        """Make ``key`` name ``layer.<attribute>`` (``"gamma"`` or ``"beta"``)."""
        self._owners[key] = (layer, attribute)
        self._order[key] = None

    def __getitem__(self, key: str) -> np.ndarray:
        if key in self._owners:
            layer, attribute = self._owners[key]
            return getattr(layer, attribute)
        return self._held[key]

    def __setitem__(self, key: str, value) -> None:
        if key in self._owners:
            layer, attribute = self._owners[key]
            setattr(layer, attribute, value)
        else:
            self._held[key] = value
        self._order[key] = None

    def __delitem__(self, key: str) -> None:
        if key not in self._order:
            raise KeyError(key)
        self._owners.pop(key, None)
        self._held.pop(key, None)
        del self._order[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __repr__(self) -> str:
        return "Parameters(" + ", ".join(f"{k}: {self[k].shape}" for k in self) + ")"


class _Diverged(Exception):
    """Raised inside a traced training step whose logits are not finite."""


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

    ``bn_functions=(forward, backward)`` gives every batch-norm layer those functions (the
    signatures of exercises 3.1 and 3.3) in training mode instead of lessonlib's: the
    gradients then flow through that ``backward``.

    ``layer_norm=True`` puts layer norm (``layers.layernorm.LayerNorm``: each example
    normalized over its units, no running statistics) there instead, in ``ln_layers``;
    ``ln_forward`` replaces its forward pass (the signature of exercise 4.3).

    ``bn_layers`` maps each batch-normalized layer ``l`` to its ``BatchNorm``, which keeps
    the running statistics (weight ``bn_decay`` on the old value, unbiased variance); its
    ``gamma`` and ``beta`` are ``params["gamma{l}"]`` and ``params["beta{l}"]``. ``training``
    is the mode: ``train()``, ``eval()`` and ``with net.mode(training=False):`` switch it.
    """

    def __init__(self, layer_dims, *, activation: str = "relu", batch_norm: bool = False,
                 bn_bias: bool = False, eps: float = 1e-5, bn_decay: float = 0.9,
                 bn_functions=None, layer_norm: bool = False, ln_forward=None,
                 rng: np.random.Generator):
        if isinstance(layer_dims, (str, bytes)) or not hasattr(layer_dims, "__iter__"):
            raise TypeError(f"layer_dims must be a list of layer sizes [n_x, n_1, ..., C], "
                            f"got {type(layer_dims).__name__}")
        dims = [as_int(f"layer_dims[{i}]", d, low=1) for i, d in enumerate(layer_dims)]
        if len(dims) < 2:
            raise ValueError(f"layer_dims must list at least n_x and C, got {list(layer_dims)}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        for name, flag in (("batch_norm", batch_norm), ("bn_bias", bn_bias),
                           ("layer_norm", layer_norm)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {flag!r}")
        if layer_norm and batch_norm:
            raise ValueError("layer_norm and batch_norm exclude each other: choose one")
        if bn_bias and not batch_norm:
            raise ValueError("bn_bias=True only makes sense with batch_norm=True")
        self.eps = as_real("eps", eps, low=0, low_inclusive=False)
        bn_decay = as_decay(bn_decay, "bn_decay")
        if bn_functions is not None and not batch_norm:
            raise ValueError("bn_functions only makes sense with batch_norm=True")
        if ln_forward is not None and not layer_norm:
            raise ValueError("ln_forward only makes sense with layer_norm=True")
        as_bn_functions(bn_functions, "bn_functions")
        rng = as_rng(rng)
        self.layer_dims = dims
        self.activation = activation
        self.batch_norm = bool(batch_norm)
        self.training = True
        self.params = Parameters()
        self.bn_layers: dict[int, BatchNorm] = {}
        self.ln_layers: dict[int, LayerNorm] = {}
        gain = 2.0 if activation == "relu" else 1.0
        for layer in range(1, len(dims)):
            scale = np.sqrt(gain / dims[layer - 1])
            self.params[f"W{layer}"] = scale * rng.standard_normal((dims[layer],
                                                                    dims[layer - 1]))
            if not self._has_bn(layer) or bn_bias:      # layer norm keeps b: it does not
                self.params[f"b{layer}"] = np.zeros((dims[layer], 1))   # cancel a per-unit b
            if layer_norm and layer < self.n_layers:
                self.ln_layers[layer] = LayerNorm(dims[layer], eps=self.eps,
                                                  forward_fn=ln_forward)
                self.params.attach(f"gamma{layer}", self.ln_layers[layer], "gamma")
                self.params.attach(f"beta{layer}", self.ln_layers[layer], "beta")
            if self._has_bn(layer):
                norm = BatchNorm(dims[layer], decay=bn_decay, eps=self.eps,
                                 functions=bn_functions)
                self.bn_layers[layer] = norm
                self.params.attach(f"gamma{layer}", norm, "gamma")
                self.params.attach(f"beta{layer}", norm, "beta")

    @property
    def n_layers(self) -> int:
        return len(self.layer_dims) - 1

    def _has_bn(self, layer: int) -> bool:
        """Whether layer ``l`` (1-based) is followed by batch norm: hidden layers only."""
        return self.batch_norm and layer < self.n_layers

    # ------------------------------------------------------------ training / evaluation

    def train(self, mode: bool = True) -> Network:
        """Switch to training mode (``mode=False``: evaluation mode); returns the network."""
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"mode must be True or False, got {mode!r}")
        self.training = bool(mode)
        for norm in self.bn_layers.values():
            norm.train(self.training)
        return self

    def eval(self) -> Network:
        """Switch to evaluation mode: batch norm uses the running statistics."""
        return self.train(False)

    @contextlib.contextmanager
    def mode(self, *, training: bool):
        """``with net.mode(training=False): ...`` runs the block in that mode, then restores
        the previous one."""
        if not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"training must be True or False, got {training!r}")
        previous = self.training
        self.train(training)
        try:
            yield self
        finally:
            self.train(previous)

    @property
    def has_running_stats(self) -> bool:
        """Whether a training step has updated the running statistics (batch norm only)."""
        return any(norm.n_updates > 0 for norm in self.bn_layers.values())

    def running_statistics(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """``{l: (running_mean, running_var)}`` for each batch-normalized layer (copies)."""
        return {layer: (norm.running_mean.copy(), norm.running_var.copy())
                for layer, norm in self.bn_layers.items()}

    def set_running_statistics(self, stats: dict) -> None:
        """Install ``{l: (mean, var)}`` (each ``(n_l, 1)``) as the layers' running statistics,
        e.g. the population statistics of ``population_statistics``."""
        if not isinstance(stats, dict) or set(stats) != set(self.bn_layers):
            got = sorted(stats) if isinstance(stats, dict) else type(stats).__name__
            raise ValueError(f"stats must map every batch-normalized layer "
                             f"{sorted(self.bn_layers)} to (mean, var), got {got}")
        checked = {}
        for layer, pair in stats.items():
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"stats[{layer}] must be a pair (mean, var), got "
                                f"{type(pair).__name__}")
            n = self.layer_dims[layer]
            checked[layer] = (as_column(f"stats[{layer}] mean", pair[0], n),
                              as_variance(f"stats[{layer}] var", pair[1], n))
        for layer, (mean, var) in checked.items():
            self.bn_layers[layer].running_mean = mean.astype(float)
            self.bn_layers[layer].running_var = var.astype(float)

    def _use_batch_stats(self, training) -> bool:
        if training is None:
            return self.training
        if not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"training must be True, False or None, got {training!r}")
        return bool(training)

    def _inference_batch_stats(self, training) -> bool:
        """The statistics ``predict`` and ``accuracy`` use: see the module's docstring."""
        if training is not None:
            return self._use_batch_stats(training)
        return self.training and not self.has_running_stats

    # ------------------------------------------------------------ forward and backward

    def _as_X(self, X, *, training: bool = True, name: str = "X") -> np.ndarray:
        X = as_float_array(name, X, ndim=2)
        if X.shape[0] != self.layer_dims[0]:
            raise ValueError(f"{name} must have shape ({self.layer_dims[0]}, m), got "
                             f"{X.shape}")
        if self.batch_norm and training and X.shape[1] < 2:
            raise ValueError(f"{name} must hold at least 2 examples (columns) for a network with "
                             f"batch norm in training mode, got shape {X.shape}: batch norm "
                             "normalizes each unit over the examples of the batch (for one "
                             "example use evaluation mode, net.eval() or training=False)")
        return X

    def _forward(self, X, *, training: bool, update: bool = False, params=None):
        """The logits and the layers' caches; ``params`` (default ``self.params``) maps
        each parameter's name to the value to compute with (autograd's traced ones)."""
        A = self._as_X(X, training=training)
        params = self.params if params is None else params
        caches = []
        for layer in range(1, self.n_layers + 1):
            b = params.get(f"b{layer}")
            Z = params[f"W{layer}"] @ A if b is None else params[f"W{layer}"] @ A + b
            bn_cache = None
            pre = Z
            norm = self.bn_layers.get(layer) or self.ln_layers.get(layer)
            if norm is not None:
                pre, bn_cache = norm.forward(Z, training=training, update=update,
                                             validate=False, gamma=params[f"gamma{layer}"],
                                             beta=params[f"beta{layer}"])
            caches.append((A, Z, bn_cache, pre))
            if layer < self.n_layers:
                A = activate(pre, self.activation)
        return Z, caches

    def forward(self, X, *, training: bool | None = None) -> tuple[np.ndarray, list]:
        """Logits ``Z[L]`` of shape ``(C, m)`` and each layer's cache.

        ``training`` (default: the network's mode) picks the statistics of batch norm: the
        batch's (``True``, ``m >= 2``) or the running ones (``False``, any ``m``). Never
        updates the running statistics. Each layer's cache is
        ``(A[l-1], Z[l], bn_cache or None, input of the activation)``.
        """
        return self._forward(X, training=self._use_batch_stats(training))

    def _cost_and_gradients(self, X, Y, *, training: bool, update: bool):
        """``(cost, grads)`` on the checked batch ``X`` with one-hot labels ``Y``
        (``(C, m)``): ``grads["d" + name]`` for every parameter, by automatic
        differentiation of the cost through one forward pass. With ``update`` that forward
        pass moves the running statistics, once. ``None`` when the logits are not finite
        (a diverging run), with the running statistics moved all the same."""
        names = list(self.params)

        def cost_of(*values):
            ZL = self._forward(X, training=training, update=update,
                               params=dict(zip(names, values)))[0]
            if not np.isfinite(value(ZL)).all():
                raise _Diverged
            return cross_entropy_of_softmax(ZL, Y)

        try:
            cost, backward = vjp(cost_of, tuple(self.params[name] for name in names))
        except _Diverged:
            return None
        return float(cost), {f"d{name}": g for name, g in zip(names, backward(1.0))}

    def cost(self, X, y, *, training: bool | None = None) -> float:
        """Mean cross-entropy cost over the ``m`` columns of ``X`` with labels ``y``
        (``training``: as in ``forward``)."""
        ZL, _ = self.forward(X, training=training)
        y = as_labels("y", y, self.layer_dims[-1])
        if y.size != ZL.shape[1]:
            raise ValueError(f"y must have shape ({ZL.shape[1]},) to match X, got {y.shape}")
        return cross_entropy_of_softmax(ZL, one_hot(y, self.layer_dims[-1]))

    def gradients(self, X, y, *, training: bool | None = None
                  ) -> tuple[float, dict[str, np.ndarray]]:
        """``(cost, grads)`` on the batch ``X`` (``(n_x, m)``) with labels ``y`` (``(m,)``):
        ``grads["d" + name]`` for every parameter, by automatic differentiation of the cost
        through the forward pass (needs autograd). Batch-normalized layers get
        ``"dgamma{l}"`` and ``"dbeta{l}"``; in evaluation mode their statistics are
        constants.

        This is a training step's computation: in training mode (``training``, default the
        network's mode) it also moves the running statistics towards this batch's.
        """
        training = self._use_batch_stats(training)
        X = self._as_X(X, training=training)
        y = as_labels("y", y, self.layer_dims[-1])
        if y.size != X.shape[1]:
            raise ValueError(f"y must have shape ({X.shape[1]},) to match X, got {y.shape}")
        result = self._cost_and_gradients(X, one_hot(y, self.layer_dims[-1]),
                                          training=training, update=training)
        if result is None:
            raise ValueError("the network's logits on X are not finite (NaN or infinity): "
                             "its parameters have diverged")
        return result

    def hidden_input(self, X, layer: int, *, training: bool | None = None) -> np.ndarray:
        """The input of hidden layer ``layer``'s activation, ``(n_layer, m)``.

        That is ``Z[layer]``, or ``Z_tilde[layer]`` (after batch norm) when the layer has
        batch norm: what the sigmoid of Ioffe & Szegedy's Figure 1 receives. ``training``:
        as in ``forward``.
        """
        if self.n_layers < 2:
            raise ValueError("the network has no hidden layer (layer_dims = "
                             f"{self.layer_dims})")
        layer = as_int("layer", layer, low=1, high=self.n_layers - 1)
        return self.forward(X, training=training)[1][layer - 1][3]

    def predict_proba(self, X, *, training: bool | None = None) -> np.ndarray:
        """Class probabilities ``(C, m)``.

        With batch norm, ``training=None`` uses the running statistics once a training step
        has updated them (or in evaluation mode), the batch's before that; ``True`` or
        ``False`` forces the batch's or the running statistics.
        """
        return softmax(self._forward(X, training=self._inference_batch_stats(training))[0])

    def predict(self, X, *, training: bool | None = None) -> np.ndarray:
        """Predicted labels ``(m,)`` (``training``: as in ``predict_proba``)."""
        return self._forward(X, training=self._inference_batch_stats(training))[0].argmax(axis=0)

    def accuracy(self, X, y, *, training: bool | None = None) -> float:
        """Fraction of the ``m`` columns of ``X`` whose predicted label equals ``y``
        (``training``: as in ``predict_proba``)."""
        y = as_labels("y", y, self.layer_dims[-1])
        pred = self.predict(X, training=training)
        if y.size != pred.size:
            raise ValueError(f"y must have shape ({pred.size},) to match X, got {y.shape}")
        return float(np.mean(pred == y))


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
    ``True`` to stop training there (``history["stopped"] = True``). With batch norm
    ``batch_size`` must be at least 2, and a last mini-batch of a single example is skipped
    (its variance is 0).

    Training runs in training mode: each mini-batch is normalized with its own statistics
    and updates the running ones; the network's mode is restored at the end. The accuracies
    of the history are inference (``net.accuracy``), with the running statistics. The
    first training run of a process keeps freed memory for reuse from then on
    (``core.memory.tune_allocator``): faster, with the same results.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lessonlib.network.Network, got {type(net).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a lessonlib.optim.Optimizer, got "
                        f"{type(optimizer).__name__}")
    X = net._as_X(X)
    C = net.layer_dims[-1]
    y = as_labels("y", y, C)
    if y.size != X.shape[1]:
        raise ValueError(f"y must have shape ({X.shape[1]},) to match X, got {y.shape}")
    epochs = as_int("epochs", epochs, low=0)
    batch_size = as_int("batch_size", batch_size, low=2 if net.batch_norm else 1)
    rng = as_rng(rng)
    if on_step is not None and not callable(on_step):
        raise TypeError(f"on_step must be a function (step, net, cost) or None, got "
                        f"{type(on_step).__name__}")
    has_val = X_val is not None
    if has_val:
        X_val = net._as_X(X_val, training=False, name="X_val")
        y_val = as_labels("y_val", y_val, C)
        if y_val.size != X_val.shape[1]:
            raise ValueError(f"y_val must have shape ({X_val.shape[1]},) to match X_val, got "
                             f"{y_val.shape}")
    elif y_val is not None:
        raise ValueError("y_val was given without X_val")
    if history is None:
        history = {"cost": [], "train_acc": [], "val_acc": []}
    elif not isinstance(history, dict):
        raise TypeError(f"history must be a dict (what train_epochs returns) or None, got "
                        f"{type(history).__name__}")
    elif not all(isinstance(history.get(k), list) for k in ("cost", "train_acc", "val_acc")):
        raise ValueError("history must hold the lists 'cost', 'train_acc' and 'val_acc' (what "
                         f"train_epochs returns), got keys {sorted(history)}")
    Y = one_hot(y, C)
    m = X.shape[1]
    tune_allocator()
    with one_blas_thread(), net.mode(training=True):  # small products: one BLAS thread
        for _ in range(epochs):
            order = rng.permutation(m)
            costs = []
            stop = False
            for start in range(0, m, batch_size):
                idx = order[start:start + batch_size]
                if net.batch_norm and idx.size < 2:
                    continue
                result = net._cost_and_gradients(X[:, idx], Y[:, idx], training=True,
                                                 update=True)
                if result is None:              # the learning rate made training diverge
                    history["diverged"] = True
                    break
                cost, grads = result
                optimizer.step(net.params, grads)
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


# ------------------------------------------------------------------ test time (notebook 04)

def population_statistics(net: Network, X, *, batch_size: int | None = None
                          ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The mean and variance of every batch-normalized layer's ``Z[l]`` over the training set.

    Ioffe & Szegedy's (2015) inference procedure (Algorithm 2): with the weights
    fixed, one pass over ``X`` (``(n_x, m)``, the training set) in consecutive mini-batches
    of ``batch_size`` examples (``None``: all of ``X`` as one batch), normalized in
    training mode as during training, averaging each layer's batch statistics::

        mean = average over batches of mu_B
        var  = m_B / (m_B - 1) * average over batches of var_B      (var_B biased)

    A last batch smaller than ``batch_size`` is left out, so every batch has ``m_B``
    examples. Returns ``{l: (mean, var)}``, each ``(n_l, 1)``, for the network's
    batch-normalized layers; ``net.set_running_statistics(...)`` installs them. Nothing
    in ``net`` changes. Introduced in notebook 04.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lessonlib.network.Network, got {type(net).__name__}")
    if not net.bn_layers:
        raise ValueError("net has no batch-norm layer (build it with batch_norm=True)")
    X = net._as_X(X)
    m = X.shape[1]
    size = m if batch_size is None else as_int("batch_size", batch_size, low=2, high=m)
    n_batches = m // size
    sum_mu = {layer: 0.0 for layer in net.bn_layers}
    sum_var = {layer: 0.0 for layer in net.bn_layers}
    with one_blas_thread():
        for k in range(n_batches):
            _, caches = net._forward(X[:, k * size:(k + 1) * size], training=True)
            for layer in net.bn_layers:
                cache = caches[layer - 1][2]                   # (Z, Z_hat, mu, var, ...)
                sum_mu[layer] = sum_mu[layer] + cache[2]
                sum_var[layer] = sum_var[layer] + cache[3]
    return {layer: (sum_mu[layer] / n_batches,
                    sum_var[layer] / n_batches * (size / (size - 1)))
            for layer in net.bn_layers}


def fold_network(net: Network, fold=None) -> Network:
    """A copy of ``net`` without batch norm whose layers fold in its running statistics.

    Every batch-normalized layer ``l`` becomes a plain linear layer with
    ``fold(W[l], b[l], gamma[l], beta[l], running_mean, running_var, eps)`` (``b[l]`` zeros
    when the layer has no bias), so the copy computes what ``net`` computes in evaluation
    mode, with one matrix product and one addition per layer. ``fold`` is a function with
    the signature of exercise 4.2's ``fold_batchnorm`` returning ``(W_folded, b_folded)``
    (default: lessonlib's stand-in, ``layers.batchnorm.fold_batchnorm``); notebook 04 passes
    the learner's. ``net`` is not changed. Introduced in notebook 04.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lessonlib.network.Network, got {type(net).__name__}")
    if fold is None:
        fold = fold_batchnorm
    elif not callable(fold):
        raise TypeError("fold must be None or a function like fold_batchnorm, got "
                        f"{type(fold).__name__}")
    if net.ln_layers:
        raise ValueError("net has layer norm, which normalizes each example with its own "
                         "statistics: that is not linear and cannot be folded")
    folded = copy.deepcopy(net)
    params = Parameters()
    for layer in range(1, net.n_layers + 1):
        W, b = net.params[f"W{layer}"], net.params.get(f"b{layer}")
        if layer in net.bn_layers:
            norm = net.bn_layers[layer]
            b = np.zeros((W.shape[0], 1)) if b is None else b
            W, b = fold(W.copy(), b.copy(), norm.gamma.copy(), norm.beta.copy(),
                        norm.running_mean.copy(), norm.running_var.copy(), net.eps)
            W = as_float_array(f"the folded W{layer}", W, ndim=2)
            b = as_column(f"the folded b{layer}", b, W.shape[0])
        params[f"W{layer}"], params[f"b{layer}"] = W.copy(), b.copy()
    folded.params = params
    folded.batch_norm = False
    folded.bn_layers = {}
    folded.training = False
    return folded


@stand_in("6.2", whose="lessonlib's evaluate, the lecture's test-time rule")
def evaluate(net: Network, X, y) -> float:
    """Accuracy of ``net`` on ``X`` (``(n_x, m)``; the digits' images in notebook 06) with
    labels ``y`` (``(m,)``). Stand-in for exercise 6.2 until the learner's passes: the
    lecture's test-time rule.

    Computed in evaluation mode: batch norm normalizes with the running statistics, so each
    example's prediction depends on that example alone (any order, any batch size, a single
    image works). The predicted class is the argmax of the ``(C, m)`` logits over axis 0.
    The network's mode (training or evaluation) is restored afterwards and nothing in it
    changes. Returns the fraction of correct predictions, a float in ``[0, 1]``.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lessonlib.network.Network, got {type(net).__name__}")
    X = as_float_array("X", X, ndim=2)
    if X.shape[0] != net.layer_dims[0]:
        raise ValueError(f"X must have shape ({net.layer_dims[0]}, m), got {X.shape}")
    y = as_labels("y", y, net.layer_dims[-1])
    if y.size != X.shape[1]:
        raise ValueError(f"y must have shape ({X.shape[1]},) to match X, got {y.shape}")
    with net.mode(training=False):
        predictions = net.predict(X)
    return float(np.mean(predictions == y))
