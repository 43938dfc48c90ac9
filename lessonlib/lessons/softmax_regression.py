"""Notebook 05, softmax regression: softmax over classes, the cross-entropy cost, a linear
classifier on 2-D points and on the digits, and temperature.

The model is ``lessonlib.network.Network([n_x, C])``: a network with no hidden layer is
softmax regression (``train_softmax_regression``; its cost before training,
``starting_costs``). Also the logic behind the notebook's
pictures (``confusion_matrix``, ``decision_regions``, ``tile_images``,
``softmax_with_temperature``), the pictures themselves (``plot_*(..., ax=None) -> Axes``)
and the temperature widget. Softmax and the cost are in ``lessonlib.layers.softmax``.
"""

from __future__ import annotations

import functools

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.colors import ListedColormap

from ..core.validate import as_float_array, as_int, as_labels, as_real, as_rng
from ..layers.autodiff import vjp
from ..layers.softmax import cross_entropy_cost, softmax, softmax_backward_by_autodiff
from ..layers.softmax import one_hot as lessonlib_one_hot
from ..network import Network, train_epochs
from ..optim import Optimizer
from .widgets import FixedWidgets


def _image_shape(image_shape) -> tuple[int, int]:
    """``(h, w)``, each an int >= 1, or a clear error naming ``image_shape``."""
    if isinstance(image_shape, (str, bytes)) or not hasattr(image_shape, "__len__"):
        raise TypeError(f"image_shape must be a pair (h, w), got "
                        f"{type(image_shape).__name__} {image_shape!r}")
    if len(image_shape) != 2:
        raise ValueError(f"image_shape must be a pair (h, w), got {tuple(image_shape)}")
    return (as_int("image_shape[0]", image_shape[0], low=1),
            as_int("image_shape[1]", image_shape[1], low=1))


# ------------------------------------------------------------------ questions

def _encoder(one_hot):
    """``one_hot`` checked as a function ``(y, C) -> Y (C, m)``, lessonlib's when None; the
    returned encoder says which of its outputs has the wrong shape."""
    if one_hot is None:
        return lessonlib_one_hot
    if not callable(one_hot):
        raise TypeError("one_hot must be None or a function like exercise 5.2's, "
                        f"(y, C) -> Y of shape (C, m), got {type(one_hot).__name__}")

    def encode(y, C):
        Y = np.asarray(one_hot(y, C), dtype=float)
        if Y.shape != (C, y.size):
            raise ValueError(f"one_hot must return an array of shape (C, m) = "
                             f"{(C, y.size)}, got shape {Y.shape}")
        return Y
    return encode


# ------------------------------------------------------------------ the model

def train_softmax_regression(X, y, *, n_classes: int | None = None, epochs: int = 50,
                             batch_size: int = 32, learning_rate: float = 0.5,
                             rng: np.random.Generator, X_val=None, y_val=None,
                             functions=None, one_hot=None):
    """Softmax regression ``Y_hat = softmax(W X + b)`` trained by mini-batch gradient descent.

    ``X`` is ``(n_x, m)``, ``y`` is ``(m,)`` with labels in ``[0, C)`` (``C = n_classes``, by
    default ``max(y) + 1``). The model is ``lessonlib.network.Network([n_x, C])``, a network
    with no hidden layer, trained with plain gradient descent on shuffled mini-batches by
    ``lessonlib.network.train_epochs``. ``functions=(softmax, cost, backward)``, with the
    signatures of exercises 5.1, 5.3 and 5.5, trains with those instead (the same mini-batches;
    ``dW`` and ``db`` from ``dZ`` by automatic differentiation of ``Z = W X + b``, which needs
    autograd): notebook 05 trains with the learner's. ``one_hot``, with the signature of
    exercise 5.2, turns the labels into the ``(C, m)`` matrix the cost and the gradient take
    (lessonlib's by default); given without ``functions``, lessonlib's softmax, cost and
    gradient by automatic differentiation train with it. Returns
    ``(net, history)``: ``net.predict(X)`` gives labels ``(m,)``, ``net.params["W1"]`` is
    ``W`` of shape ``(C, n_x)``; ``history`` has ``"cost"``, ``"train_acc"`` and, with
    validation data, ``"val_acc"``, one entry per epoch.
    """
    X = as_float_array("X", X, ndim=2)
    y = as_labels("y", y)
    if y.size != X.shape[1]:
        raise ValueError(f"y must have shape ({X.shape[1]},) to match X of shape {X.shape}, "
                         f"got {y.shape}")
    C = int(y.max()) + 1 if n_classes is None else as_int("n_classes", n_classes, low=2)
    if y.max() >= C:
        raise ValueError(f"y must hold labels in [0, {C}) for n_classes={C}, got a label "
                         f"{int(y.max())}")
    if functions is not None and (not isinstance(functions, (tuple, list))
                                  or len(functions) != 3 or not all(map(callable, functions))):
        raise TypeError("functions must be None or (softmax, cost, backward), three functions "
                        f"like those of exercises 5.1, 5.3 and 5.5, got {functions!r}")
    encode = _encoder(one_hot)
    rng = as_rng(rng)
    net = Network([X.shape[0], max(C, 2)], rng=rng)
    if functions is None and one_hot is None:
        history = train_epochs(net, Optimizer("gd", learning_rate=learning_rate), X, y,
                               epochs=epochs, batch_size=batch_size, rng=rng,
                               X_val=X_val, y_val=y_val)
        return net, history
    epochs = as_int("epochs", epochs, low=0)
    batch_size = as_int("batch_size", batch_size, low=1)
    learning_rate = as_real("learning_rate", learning_rate, low=0, low_inclusive=False)
    softmax_fn, cost_fn, backward_fn = functions or (softmax, cross_entropy_cost,
                                                     softmax_backward_by_autodiff)
    W, b = net.params["W1"], net.params["b1"]
    Y = encode(y, max(C, 2))
    history = {"cost": [], "train_acc": [], "val_acc": []}
    for _ in range(epochs):
        order, costs = rng.permutation(X.shape[1]), []
        for start in range(0, X.shape[1], batch_size):
            idx = order[start:start + batch_size]
            Z, linear_backward = vjp(functools.partial(_logits, X=X[:, idx]), (W, b))
            Y_hat = softmax_fn(Z)
            costs.append(float(cost_fn(Y_hat, Y[:, idx])))
            dW, db = linear_backward(backward_fn(Y_hat, Y[:, idx]))
            W -= learning_rate * dW
            b -= learning_rate * db
        history["cost"].append(float(np.mean(costs)))
        history["train_acc"].append(net.accuracy(X, y))
        if X_val is not None:
            history["val_acc"].append(net.accuracy(X_val, y_val))
    return net, history


def _logits(W, b, X):
    """``Z = W X + b`` ``(C, m)``: softmax regression's linear step."""
    return W @ X + b


def starting_costs(X, y, weight_scales, *, n_draws: int = 1, n_classes: int | None = None,
                   rng: np.random.Generator, functions=None, one_hot=None) -> np.ndarray:
    """The mean cross-entropy cost of softmax regression before any training step.

    ``X`` is ``(n_x, m)``, ``y`` is ``(m,)`` with labels in ``[0, C)`` (``C = n_classes``, by
    default ``max(y) + 1``). ``n_draws`` initial ``W`` of shape ``(C, n_x)`` are drawn as
    ``Network([n_x, C])`` draws them (the start of ``train_softmax_regression``), with
    ``b = 0``; entry ``[d, k]`` of the result is the cost of ``weight_scales[k] * W`` for
    draw ``d``, so the scales compare the same draws. A scale of 0 gives every logit 0,
    uniform outputs ``1 / C`` and a cost of exactly ``ln C``: the number a training run
    should start near. ``functions=(softmax, cost)``, with the signatures of exercises 5.1
    and 5.3, computes with those, and ``one_hot`` (exercise 5.2's signature) makes the
    labels' ``(C, m)`` matrix. Returns an array ``(n_draws, len(weight_scales))``.
    Notebook 05.
    """
    X = as_float_array("X", X, ndim=2)
    y = as_labels("y", y)
    if y.size != X.shape[1]:
        raise ValueError(f"y must have shape ({X.shape[1]},) to match X of shape {X.shape}, "
                         f"got {y.shape}")
    scales = as_float_array("weight_scales", weight_scales, ndim=1)
    if scales.size == 0 or np.any(scales < 0):
        raise ValueError("weight_scales must be a non-empty sequence of numbers >= 0, got "
                         f"{scales.tolist()}")
    C = int(y.max()) + 1 if n_classes is None else as_int("n_classes", n_classes, low=2)
    if y.max() >= C:
        raise ValueError(f"y must hold labels in [0, {C}) for n_classes={C}, got a label "
                         f"{int(y.max())}")
    if functions is None:
        softmax_fn, cost_fn = softmax, cross_entropy_cost
    elif (isinstance(functions, (tuple, list)) and len(functions) == 2
          and all(map(callable, functions))):
        softmax_fn, cost_fn = functions
    else:
        raise TypeError("functions must be None or (softmax, cost), two functions like those "
                        f"of exercises 5.1 and 5.3, got {functions!r}")
    encode = _encoder(one_hot)
    n_draws = as_int("n_draws", n_draws, low=1)
    rng = as_rng(rng)
    Y = encode(y, max(C, 2))
    costs = np.empty((n_draws, scales.size))
    for d in range(n_draws):
        W = Network([X.shape[0], max(C, 2)], rng=rng).params["W1"]
        costs[d] = [float(cost_fn(softmax_fn((s * W) @ X), Y)) for s in scales]
    return costs


# ------------------------------------------------------------------ logic behind the pictures

def softmax_with_temperature(z, T) -> np.ndarray:
    """``softmax(z / T)``: temperature ``T > 0`` flattens (``T > 1``) or sharpens (``T < 1``).

    ``z`` is a vector of ``C`` logits ``(C,)`` or logits ``(C, m)``; returns probabilities of
    the same shape. As ``T -> 0`` the result tends to ``hardmax(z)``, as ``T -> inf`` to the
    uniform ``1 / C``. Stable for any ``T > 0``: the column maximum is taken out before
    dividing. The logic of notebook 05's temperature widget.
    """
    z = as_float_array("z", z)
    if z.ndim not in (1, 2):
        raise ValueError(f"z must have shape (C,) or (C, m), got shape {z.shape}")
    T = as_real("T", T, low=0, low_inclusive=False)
    col = z.reshape(z.shape[0], -1)
    with np.errstate(over="ignore", under="ignore"):
        shifted = (col - col.max(axis=0, keepdims=True)) / T      # <= 0, maybe -inf
    E = np.exp(shifted)
    E /= E.sum(axis=0, keepdims=True)
    return E.reshape(z.shape)


def temperature_curves(z, temperatures) -> np.ndarray:
    """Probabilities of each class for each temperature: ``(len(temperatures), C)``.

    ``z`` is a vector of ``C`` logits ``(C,)``; ``temperatures`` a sequence of ``T > 0``.
    """
    z = as_float_array("z", z, ndim=1)
    Ts = as_float_array("temperatures", temperatures, ndim=1)
    if np.any(Ts <= 0):
        raise ValueError(f"temperatures must all be > 0, got a smallest value of "
                         f"{Ts.min():.6g}")
    return np.stack([softmax_with_temperature(z, float(T)) for T in Ts])


def confusion_matrix(y_true, y_pred, C: int) -> np.ndarray:
    """Counts ``(C, C)``: entry ``[i, j]`` is how many examples of class ``i`` were predicted ``j``.

    ``y_true`` and ``y_pred`` are labels ``(m,)`` in ``[0, C)``. Rows are the true classes,
    so the diagonal counts the correct predictions and each row sums to the class's size.
    """
    C = as_int("C", C, low=1)
    y_true = as_labels("y_true", y_true, C)
    y_pred = as_labels("y_pred", y_pred, C)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape (m,), got "
                         f"{y_true.shape} and {y_pred.shape}")
    cm = np.zeros((C, C), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def misclassified(y_true, y_pred, k: int | None = None) -> np.ndarray:
    """Indices (in order) of the examples whose predicted label differs from the true one.

    ``y_true`` and ``y_pred`` are ``(m,)``; at most ``k`` indices when ``k`` is given.
    """
    y_true = as_labels("y_true", y_true)
    y_pred = as_labels("y_pred", y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape (m,), got "
                         f"{y_true.shape} and {y_pred.shape}")
    idx = np.flatnonzero(y_true != y_pred)
    if k is not None:
        idx = idx[:as_int("k", k, low=0)]
    return idx


def decision_regions(predict, X, *, resolution: int = 200, margin: float = 0.5):
    """The label ``predict`` gives at every point of a grid covering the 2-D data ``X``.

    ``predict`` maps points ``(2, k)`` to labels ``(k,)`` (e.g. ``net.predict``); ``X`` is
    ``(2, m)``. The grid spans the data's range widened by ``margin`` on every side, with
    ``resolution`` points per axis. Returns ``(xx, yy, labels)``, each
    ``(resolution, resolution)``, ready for ``contourf``.
    """
    if not callable(predict):
        raise TypeError(f"predict must be a function from points (2, k) to labels (k,), got "
                        f"{type(predict).__name__}")
    X = as_float_array("X", X, ndim=2)
    if X.shape[0] != 2:
        raise ValueError(f"X must have shape (2, m) (2-D points in columns), got {X.shape}")
    resolution = as_int("resolution", resolution, low=2)
    margin = as_real("margin", margin, low=0)
    lo, hi = X.min(axis=1) - margin, X.max(axis=1) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    labels = np.asarray(predict(np.stack([xx.ravel(), yy.ravel()])))
    if labels.shape != (xx.size,):
        raise ValueError(f"predict must return labels of shape ({xx.size},) for "
                         f"{xx.size} points, got shape {labels.shape}")
    return xx, yy, labels.reshape(xx.shape)


def tile_images(X, image_shape=(8, 8), *, ncols: int = 10, pad: int = 1) -> np.ndarray:
    """Images stored as columns of ``X`` (``(h * w, k)``) tiled into one mosaic array.

    Images go row by row, ``ncols`` per row, separated by ``pad`` pixels of NaN (drawn as
    blank by ``imshow``). Returns an array of shape
    ``(rows * (h + pad) - pad, ncols * (w + pad) - pad)``.
    """
    X = as_float_array("X", X, ndim=2)
    h, w = _image_shape(image_shape)
    if X.shape[0] != h * w:
        raise ValueError(f"X must have {h * w} rows for images of shape {(h, w)}, got shape "
                         f"{X.shape}")
    ncols = as_int("ncols", ncols, low=1)
    pad = as_int("pad", pad, low=0)
    k = X.shape[1]
    ncols = min(ncols, k)
    rows = -(-k // ncols)
    mosaic = np.full((rows * (h + pad) - pad, ncols * (w + pad) - pad), np.nan)
    for i in range(k):
        r, c = divmod(i, ncols)
        mosaic[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = \
            X[:, i].reshape(h, w)
    return mosaic


# ------------------------------------------------------------------ pictures

def _axes(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_decision_boundary(predict, X, y, ax=None, *, resolution: int = 200,
                           title: str | None = None):
    """Coloured decision regions of ``predict`` with the 2-D points ``X`` (``(2, m)``) on top,
    coloured by their labels ``y`` (``(m,)``). Returns the Axes."""

    y = as_labels("y", y)
    X = as_float_array("X", X, ndim=2)
    if y.size != X.shape[1]:
        raise ValueError(f"y must have shape ({X.shape[1]},) to match X, got {y.shape}")
    xx, yy, regions = decision_regions(predict, X, resolution=resolution)
    C = int(max(regions.max(), y.max())) + 1
    colours = [f"C{c}" for c in range(C)]
    ax = _axes(ax, (5, 5))
    ax.contourf(xx, yy, regions, levels=np.arange(C + 1) - 0.5,
                cmap=ListedColormap(colours), alpha=0.25)
    ax.contour(xx, yy, regions, levels=np.arange(C + 1) - 0.5, colors="k", linewidths=0.8)
    for c in range(C):
        pts = X[:, y == c]
        ax.scatter(pts[0], pts[1], s=14, color=colours[c], edgecolors="k", linewidths=0.3,
                   label=f"class {c}")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title if title is not None else f"{C} classes")
    return ax


def plot_confusion_matrix(cm, ax=None, *, class_names=None):
    """The confusion matrix ``cm`` (``(C, C)``, rows true, columns predicted) as a heat map
    with the counts written in. Returns the Axes."""
    cm = as_float_array("cm", cm, ndim=2)
    if cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be square (C, C), got shape {cm.shape}")
    C = cm.shape[0]
    names = [str(c) for c in range(C)] if class_names is None else [str(n) for n in
                                                                      class_names]
    if len(names) != C:
        raise ValueError(f"class_names must have {C} entries, got {len(names)}")
    ax = _axes(ax, (5.5, 5))
    ax.imshow(cm, cmap="Blues")
    top = cm.max() if cm.size else 0
    for i in range(C):
        for j in range(C):
            if cm[i, j]:
                ax.text(j, i, f"{cm[i, j]:.0f}", ha="center", va="center", fontsize=8,
                        color="white" if cm[i, j] > top / 2 else "black")
    ax.set_xticks(range(C), names)
    ax.set_yticks(range(C), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"confusion matrix: {cm.trace():.0f} of {cm.sum():.0f} correct")
    return ax


def plot_misclassified(X, y_true, y_pred, ax=None, *, n: int = 10, image_shape=(8, 8),
                       ncols: int = 10):
    """Up to ``n`` misclassified images (columns of ``X``) labelled "true → predicted".

    ``X`` is ``(h * w, m)``, ``y_true`` and ``y_pred`` are ``(m,)``. Returns the Axes.
    """
    X = as_float_array("X", X, ndim=2)
    image_shape = _image_shape(image_shape)
    idx = misclassified(y_true, y_pred, as_int("n", n, low=1))
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.size != X.shape[1]:
        raise ValueError(f"y_true must have shape ({X.shape[1]},) to match X, got "
                         f"{y_true.shape}")
    ax = _axes(ax, (10, 2.2))
    ax.set_axis_off()
    if idx.size == 0:
        ax.set_title("no misclassified examples")
        return ax
    h, w = image_shape
    ax.imshow(tile_images(X[:, idx], image_shape, ncols=ncols, pad=2), cmap="gray_r")
    ncols = min(ncols, idx.size)
    for k, i in enumerate(idx):
        r, c = divmod(k, ncols)
        ax.text(c * (w + 2) + w / 2 - 0.5, r * (h + 2) - 0.7, f"{y_true[i]} → {y_pred[i]}",
                ha="center", va="bottom", fontsize=9)
    ax.set_title(f"{idx.size} misclassified examples (true → predicted)", pad=14)
    return ax


def plot_learning_curve(history: dict, ax=None):
    """Training cost per epoch (left axis) and accuracies (right axis) from a
    ``train_epochs`` history. Returns the Axes of the cost."""
    if not isinstance(history, dict) or not history.get("cost"):
        raise ValueError("history must be a dict with a non-empty 'cost' list (what "
                         "train_epochs returns)")
    ax = _axes(ax, (7, 3.5))
    epochs = np.arange(1, len(history["cost"]) + 1)
    ax.plot(epochs, history["cost"], color="C0", label="training cost")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean cross-entropy cost", color="C0")
    acc_ax = ax.twinx()
    for key, colour, label in (("train_acc", "C1", "training accuracy"),
                               ("val_acc", "C2", "validation accuracy")):
        if history.get(key):
            acc_ax.plot(epochs[:len(history[key])], history[key], color=colour, label=label)
    acc_ax.set_ylabel("accuracy")
    lines = ax.get_lines() + acc_ax.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], loc="center right")
    return ax


def plot_probabilities(p, ax=None, *, class_names=None, title: str | None = None):
    """A bar chart of the probabilities ``p`` (``(C,)``). Returns the Axes."""
    p = as_float_array("p", p, ndim=1)
    names = [str(c) for c in range(p.size)] if class_names is None else [str(n) for n in
                                                                          class_names]
    if len(names) != p.size:
        raise ValueError(f"class_names must have {p.size} entries, got {len(names)}")
    ax = _axes(ax, (5, 3))
    ax.bar(names, p, color=[f"C{c}" for c in range(p.size)])
    ax.set_ylim(0, 1)
    ax.set_xlabel("class")
    ax.set_ylabel("probability")
    if title is not None:
        ax.set_title(title)
    return ax


def plot_temperature(z, temperatures=None, ax=None, *, T: float | None = None,
                     class_names=None):
    """Each class's probability ``softmax(z / T)`` against the temperature (log axis).

    ``z`` is ``(C,)``; ``temperatures`` defaults to 200 values from 0.05 to 20; ``T``, if
    given, is marked with a vertical line. Returns the Axes.
    """
    Ts = np.geomspace(0.05, 20, 200) if temperatures is None else temperatures
    P = temperature_curves(z, Ts)
    Ts = np.asarray(Ts, dtype=float)
    names = [str(c) for c in range(P.shape[1])] if class_names is None else [
        str(n) for n in class_names]
    ax = _axes(ax, (6, 3.5))
    for c in range(P.shape[1]):
        ax.plot(Ts, P[:, c], color=f"C{c}", label=f"class {names[c]}")
    ax.axhline(1 / P.shape[1], color="gray", lw=0.8, ls=":")
    if T is not None:
        ax.axvline(as_real("T", T, low=0, low_inclusive=False), color="k", lw=1, ls="--")
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("temperature T")
    ax.set_ylabel("softmax(z / T)")
    ax.legend(fontsize=8, ncols=2 if P.shape[1] > 5 else 1, loc="center right")
    return ax


def describe_temperature(z, T) -> str:
    """One line of text: the temperature and the probabilities ``softmax(z / T)``."""
    p = softmax_with_temperature(as_float_array("z", z, ndim=1), T)
    return f"T = {float(T):.3g}: probabilities " + " ".join(f"{x:.3f}" for x in p)


def temperature_options(T: float = 1.0, T_min: float = 0.05, T_max: float = 20.0, *,
                        per_decade: int = 100) -> list[tuple[str, float]]:
    """The temperatures the slider of ``temperature_widget`` offers, as ``(label, T)`` pairs.

    ``T * 10**(k / per_decade)`` for whole ``k``, from ``T_min`` to ``T_max``: both ends,
    ``T`` itself and whole decades from it are among them exactly, so a slider over
    them opens on exactly ``T`` (a ``FloatLogSlider`` snaps its value to ``min + k * step``
    in the browser: 1.0 on a slider from 0.05 in steps of 0.01 showed 0.998). The labels
    are the temperatures to 3 significant digits (more if two would read the same).
    Notebook 05.
    """
    T_min = as_real("T_min", T_min, low=0, low_inclusive=False)
    T_max = as_real("T_max", T_max, low=T_min, low_inclusive=False)
    T = as_real("T", T, low=T_min, high=T_max)
    per_decade = as_int("per_decade", per_decade, low=1, high=500)

    # T * 10**(k / per_decade): whole decades from T are exact (10 for T = 1), then the ends
    k = np.arange(np.ceil(per_decade * np.log10(T_min / T) - 1e-9),
                  np.floor(per_decade * np.log10(T_max / T) + 1e-9) + 1)
    grid = [T * 10.0 ** (j / per_decade) if j else T for j in k]
    near = 10 ** (0.5 / per_decade)              # an end closer than half a step replaces it
    values = [T_min, *(v for v in grid if (v > T_min * near and v < T_max / near) or v == T),
              T_max]
    values = list(dict.fromkeys(float(v) for v in values))      # T may be T_min or T_max
    for digits in range(3, 18):                  # more digits only where 3 would repeat
        labels = [f"{v:.{digits}g}" for v in values]
        if len(set(labels)) == len(labels):
            break
    return list(zip(labels, values))


# Each widget opens under a fixed model id, with a placeholder in the notebook's metadata
# (``lessons.widgets``): a saved notebook reopened with a new kernel logs no missing model.
_WIDGETS = FixedWidgets("05_softmax_regression", {
    "temperature_widget": "Run this cell to get the temperature slider back (a widget needs a "
                          "running kernel)."})
WIDGET_IDS = _WIDGETS.ids


def saved_widget_state() -> dict:
    """The ``metadata.widgets`` of notebook 05: a placeholder per widget's fixed id."""
    return _WIDGETS.saved_state()


def temperature_widget(z, *, T: float = 1.0, T_min: float = 0.05, T_max: float = 20.0,
                       class_names=None):
    """A temperature slider that redraws ``softmax(z / T)`` for the logits ``z`` (``(C,)``).

    Left: the probabilities at the slider's ``T`` (``plot_probabilities``); right: every
    class's probability against ``T`` (``plot_temperature``). The slider steps through
    ``temperature_options(T, T_min, T_max)`` (a hundredth of a decade apart) and opens on
    exactly ``T``.
    Returns an ipywidgets ``VBox(slider, text, plot)``; the text line
    (``describe_temperature``) lists the probabilities. The box has the fixed model id
    ``WIDGET_IDS["temperature_widget"]``; making it again closes the one made before.
    Notebook 05.
    """

    z = as_float_array("z", z, ndim=1)
    options = temperature_options(T, T_min, T_max)
    T_min, T_max = options[0][1], options[-1][1]
    slider = widgets.SelectionSlider(options=options, value=float(T), description="T",
                                     continuous_update=True)
    text = widgets.HTML()
    out = widgets.Output()

    def redraw(change=None):
        temp = slider.value
        text.value = describe_temperature(z, temp)
        with out:
            out.clear_output(wait=True)
            fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
            plot_probabilities(softmax_with_temperature(z, temp), ax1,
                               class_names=class_names, title=f"softmax(z / {temp:.3g})")
            plot_temperature(z, np.geomspace(T_min, T_max, 200), ax2, T=temp,
                             class_names=class_names)
            fig.tight_layout()
            display(fig)
            plt.close(fig)

    slider.observe(redraw, names="value")
    redraw()
    return _WIDGETS.box("temperature_widget", [slider, text, out])
