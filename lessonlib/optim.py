"""Optimizers: plain gradient descent, momentum and Adam, on a dict of parameter arrays.

``Optimizer.step(params, grads)`` updates every array of ``params`` in place from
``grads["d" + name]``. Momentum and Adam keep exponentially weighted averages of the
gradients (weights ``beta1`` and ``beta2`` on the old value; Adam corrects their start-up
bias). Introduced in notebook 01; the week-2 lectures derive it.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field

import numpy as np

from .core.validate import as_real

OPTIMIZERS = ("gd", "momentum", "adam")


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
            raise ValueError(f"kind (the optimizer) must be one of {OPTIMIZERS}, got "
                             f"{self.kind!r}")
        self.learning_rate = as_real("learning_rate", self.learning_rate, low=0,
                                     low_inclusive=False)
        self.beta1 = as_real("beta1", self.beta1, low=0, high=1, high_inclusive=False)
        self.beta2 = as_real("beta2", self.beta2, low=0, high=1, high_inclusive=False)
        self.epsilon = as_real("epsilon", self.epsilon, low=0, low_inclusive=False)

    def step(self, params: MutableMapping, grads: Mapping) -> None:
        """Update ``params`` in place from ``grads`` (keys ``"d" + name``)."""
        if not isinstance(params, MutableMapping) or not isinstance(grads, Mapping):
            raise TypeError(f"params and grads must be dicts of arrays, got "
                            f"{type(params).__name__} and {type(grads).__name__}")
        missing = [name for name in params if "d" + name not in grads]
        if missing:
            raise ValueError(f"grads must hold a gradient for every parameter, missing "
                             f"{['d' + name for name in missing]}")
        self.t += 1
        lr = self.learning_rate
        for name, p in params.items():
            g = grads["d" + name]
            if self.kind == "gd":
                p -= lr * g
                continue
            v = self._average("v" + name, p)
            v *= self.beta1
            v += (1 - self.beta1) * g
            if self.kind == "momentum":
                p -= lr * v
                continue
            s = self._average("s" + name, p)
            s *= self.beta2
            s += (1 - self.beta2) * g * g
            v_hat = v / (1 - self.beta1 ** self.t)
            s_hat = s / (1 - self.beta2 ** self.t)
            p -= lr * v_hat / (np.sqrt(s_hat) + self.epsilon)

    def _average(self, key: str, p: np.ndarray) -> np.ndarray:
        """The running average ``key`` (``"v"`` or ``"s"`` + name), zeros like ``p`` at first
        (not ``setdefault``, which would build the zeros again at every step)."""
        average = self.state.get(key)
        if average is None:
            average = self.state[key] = np.zeros_like(p)
        return average
