"""Softmax regression: softmax over classes, one-hot labels and the cross-entropy cost.

Course shapes: logits ``Z`` and probabilities ``Y_hat`` are ``(C, m)``, one example per
column; one-hot labels ``Y`` are ``(C, m)``; integer labels ``y`` are ``(m,)``. Introduced
in notebook 05; notebook 01's small network uses it for its output layer.

The module holds the reference implementations of notebook 05's exercises (``softmax``,
``one_hot``, ``cross_entropy_cost``, ``softmax_backward``), the pure logic behind its
pictures (``confusion_matrix``, ``decision_regions``, ``tile_images``,
``softmax_with_temperature``), the pictures themselves (``plot_*(..., ax=None) -> Axes``)
and the temperature widget. The model is ``lessonlib.nn.Network([n_x, C])``: a network
with no hidden layer is softmax regression (``train_softmax_regression``).
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, as_int, as_labels, as_real, as_rng

_SUM_TOL = 1e-4          # how far a column of probabilities may sum from 1
_RANGE_TOL = 1e-6        # rounding slack allowed outside [0, 1] for a probability


# ------------------------------------------------------------------ validation

def _logits(Z, name: str = "Z") -> np.ndarray:
    """Finite logits of shape ``(C, m)`` (float32 kept, anything else float64)."""
    return as_float_array(name, Z, ndim=2)


def _probabilities(name: str, P, *, what: str, sums_out: list | None = None) -> np.ndarray:
    """A ``(C, m)`` array of probabilities in [0, 1] whose columns sum to 1.

    Two passes: the smallest value, and the column sums in float64 (a NaN or an infinity
    anywhere makes its column's sum non-finite; values at least 0 summing to 1 are at most
    1). The sums are appended to ``sums_out`` when given.
    """
    P = as_float_array(name, P, ndim=2, finite=False)
    sums = P.sum(axis=0, dtype=np.float64)
    if not np.all(np.isfinite(sums)):
        raise ValueError(f"{name} must be finite, got NaN or infinity")
    low = float(P.min())
    if low < -_RANGE_TOL:
        raise ValueError(f"{name} must hold probabilities in [0, 1] ({what}), got a value "
                         f"of {low:.6g}")
    worst = int(np.argmax(np.abs(sums - 1)))
    if abs(sums[worst] - 1) > _SUM_TOL:
        raise ValueError(f"each column of {name} must sum to 1 ({what}), got column {worst} "
                         f"summing to {sums[worst]:.6g}")
    if sums_out is not None:
        sums_out.append(sums)
    return P


def _image_shape(image_shape) -> tuple[int, int]:
    """``(h, w)``, each an int >= 1, or a clear error naming ``image_shape``."""
    if isinstance(image_shape, (str, bytes)) or not hasattr(image_shape, "__len__"):
        raise TypeError(f"image_shape must be a pair (h, w), got "
                        f"{type(image_shape).__name__} {image_shape!r}")
    if len(image_shape) != 2:
        raise ValueError(f"image_shape must be a pair (h, w), got {tuple(image_shape)}")
    return (as_int("image_shape[0]", image_shape[0], low=1),
            as_int("image_shape[1]", image_shape[1], low=1))


def _check_pair(Y_hat, Y) -> tuple[np.ndarray, np.ndarray]:
    Y_hat = _probabilities("Y_hat", Y_hat, what="a softmax output")
    Y = _probabilities("Y", Y, what="one-hot labels, one column per example")
    if Y_hat.shape != Y.shape:
        raise ValueError(f"Y_hat and Y must have the same shape (C, m), got Y_hat of shape "
                         f"{Y_hat.shape} and Y of shape {Y.shape}")
    return Y_hat, Y


# ------------------------------------------------------------------ the exercises

def softmax(Z) -> np.ndarray:
    """``exp(Z) / sum(exp(Z))`` over the classes axis (0), stable for large logits.

    ``Z`` is ``(C, m)``; returns ``(C, m)`` whose columns sum to 1 (float32 in, float32
    out). Subtracting each column's maximum first leaves the result unchanged (softmax
    does not change when a constant is added to a column) and keeps ``exp`` from
    overflowing: the largest exponent is 0. Exercise 5.1.
    """
    Z = _logits(Z)
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    E /= E.sum(axis=0, keepdims=True)
    return E


def log_softmax(Z) -> np.ndarray:
    """``log(softmax(Z))`` for ``Z`` of shape ``(C, m)``, finite even where softmax is 0.

    Computed as ``Z - logsumexp(Z)`` over axis 0, with the column maximum taken out first.
    """
    Z = _logits(Z)
    shifted = Z - Z.max(axis=0, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))


def hardmax(Z) -> np.ndarray:
    """One-hot ``(C, m)`` array with a 1 at each column's largest logit (first on ties).

    What the prediction ``argmax`` picks; softmax is its smooth ("soft") version.
    """
    Z = _logits(Z)
    out = np.zeros_like(Z)
    out[Z.argmax(axis=0), np.arange(Z.shape[1])] = 1
    return out


def one_hot(y, C: int) -> np.ndarray:
    """Labels ``y`` of shape ``(m,)`` with values in ``[0, C)`` as a ``(C, m)`` one-hot array.

    Column ``i`` is all zeros except a 1 in row ``y[i]``. Exercise 5.2.
    """
    C = as_int("C", C, low=1)
    y = as_labels("y", y, C)
    Y = np.zeros((C, y.size))
    Y[y, np.arange(y.size)] = 1.0
    return Y


def cross_entropy_cost(Y_hat, Y) -> float:
    """Mean over the ``m`` examples of ``-sum_c Y[c] * log(Y_hat[c])``.

    ``Y_hat`` holds probabilities ``(C, m)`` whose columns sum to 1; ``Y`` is one-hot
    ``(C, m)``. Terms with ``Y = 0`` contribute 0, so a probability of exactly 0 on a wrong
    class is fine; a probability of 0 on the true class gives a large but finite cost
    (``log`` is taken of ``max(Y_hat, tiny)``, about 708 per such example in float64).
    Exercise 5.3.
    """
    Y_hat, Y = _check_pair(Y_hat, Y)
    tiny = np.finfo(Y_hat.dtype).tiny
    logs = np.log(np.maximum(Y_hat, tiny))
    return float(-np.sum(np.where(Y > 0, Y * logs, 0.0)) / Y.shape[1])


def softmax_backward(Y_hat, Y) -> np.ndarray:
    """Gradient of the mean cross-entropy cost with respect to the logits: ``(Y_hat - Y) / m``.

    ``Y_hat = softmax(Z)`` and one-hot ``Y`` are ``(C, m)``; returns ``dZ`` of shape
    ``(C, m)``. Softmax and the cross-entropy cost together have this simple derivative;
    the ``1 / m`` comes from averaging the cost over the examples. Exercise 5.4.
    """
    Y_hat, Y = _check_pair(Y_hat, Y)
    return (Y_hat - Y) / Y.shape[1]


def softmax_cross_entropy(Z, Y) -> tuple[float, np.ndarray]:
    """Cost and gradient straight from the logits: ``(cost, dZ)`` with ``dZ = (Y_hat - Y) / m``.

    ``Z`` and one-hot ``Y`` are ``(C, m)``. Computed through ``log_softmax`` so the cost
    stays finite for logits of any size.
    """
    Z = as_float_array("Z", Z, ndim=2, finite=False)   # checked below, without a pass
    sums = []
    Y = _probabilities("Y", Y, what="one-hot labels, one column per example", sums_out=sums)
    if Z.shape != Y.shape:
        raise ValueError(f"Z and Y must have the same shape (C, m), got Z of shape {Z.shape} "
                         f"and Y of shape {Y.shape}")
    m = Z.shape[1]
    # Few passes and one new array: dZ is built in place from the shifted logits.
    # cost = (1/m) sum_i [log(total_i) * sum_c Y_ci - sum_c Y_ci * shifted_ci]
    z_max = Z.max(axis=0, keepdims=True)
    if not np.all(np.isfinite(z_max)):
        _logits(Z)              # a NaN or +infinite logit: raise the error that names it
    dZ = np.subtract(Z, z_max)
    dot = np.einsum("ij,ij->", Y, dZ)
    np.exp(dZ, out=dZ)
    total = dZ.sum(axis=0, keepdims=True)
    cost = float((np.log(total[0]) @ sums[0] - dot) / m)
    if not np.isfinite(cost):
        _logits(Z)              # a -infinite logit: raise the error that names it
    dZ /= total
    dZ -= Y
    dZ /= m
    return cost, dZ


def numerical_dZ(Z, Y, h: float = 1e-6) -> np.ndarray:
    """Centred-difference gradient of the mean cross-entropy cost with respect to ``Z``.

    Entry ``(c, i)`` is ``(J(Z + h e_ci) - J(Z - h e_ci)) / (2 h)`` with
    ``J(Z) = cross_entropy_cost(softmax(Z), Y)``, in float64; ``Z`` and ``Y`` are
    ``(C, m)``. What exercise 5.4's ``dZ`` is checked against (2 C m cost evaluations, so
    keep ``Z`` small).
    """
    Z = np.array(_logits(Z), dtype=np.float64)
    Y = _probabilities("Y", Y, what="one-hot labels, one column per example")
    if Z.shape != Y.shape:
        raise ValueError(f"Z and Y must have the same shape (C, m), got Z of shape {Z.shape} "
                         f"and Y of shape {Y.shape}")
    from .gradcheck import numerical_gradient
    return numerical_gradient(lambda z: softmax_cross_entropy(z, Y)[0], Z, h=h)


def sigmoid(z) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))`` elementwise, without overflow.

    With two classes softmax is logistic regression: ``softmax(Z)[1] = sigmoid(Z[1] - Z[0])``.
    """
    z = as_float_array("z", z)
    return 0.5 * (1 + np.tanh(0.5 * z))


# ------------------------------------------------------------------ the model

def train_softmax_regression(X, y, *, n_classes: int | None = None, epochs: int = 50,
                             batch_size: int = 32, learning_rate: float = 0.5,
                             rng: np.random.Generator, X_val=None, y_val=None):
    """Softmax regression ``Y_hat = softmax(W X + b)`` trained by mini-batch gradient descent.

    ``X`` is ``(n_x, m)``, ``y`` is ``(m,)`` with labels in ``[0, C)`` (``C = n_classes``, by
    default ``max(y) + 1``). The model is ``lessonlib.nn.Network([n_x, C])``, a network
    with no hidden layer, trained with plain gradient descent (``Optimizer("gd")``) on
    shuffled mini-batches by ``lessonlib.nn.train_epochs``. Returns ``(net, history)``:
    ``net.predict(X)`` gives labels ``(m,)``, ``net.params["W1"]`` is ``W`` of shape
    ``(C, n_x)``; ``history`` has ``"cost"``, ``"train_acc"`` and, with validation data,
    ``"val_acc"``, one entry per epoch. Notebook 05.
    """
    from .nn import Network, Optimizer, train_epochs

    X = as_float_array("X", X, ndim=2)
    y = as_labels("y", y)
    if y.size != X.shape[1]:
        raise ValueError(f"y must have shape ({X.shape[1]},) to match X of shape {X.shape}, "
                         f"got {y.shape}")
    C = int(y.max()) + 1 if n_classes is None else as_int("n_classes", n_classes, low=2)
    if y.max() >= C:
        raise ValueError(f"y must hold labels in [0, {C}) for n_classes={C}, got a label "
                         f"{int(y.max())}")
    rng = as_rng(rng)
    net = Network([X.shape[0], max(C, 2)], rng=rng)
    opt = Optimizer("gd", learning_rate=learning_rate)
    history = train_epochs(net, opt, X, y, epochs=epochs, batch_size=batch_size, rng=rng,
                           X_val=X_val, y_val=y_val)
    return net, history


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
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_decision_boundary(predict, X, y, ax=None, *, resolution: int = 200,
                           title: str | None = None):
    """Coloured decision regions of ``predict`` with the 2-D points ``X`` (``(2, m)``) on top,
    coloured by their labels ``y`` (``(m,)``). Returns the Axes."""
    from matplotlib.colors import ListedColormap

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


def temperature_widget(z, *, T: float = 1.0, T_min: float = 0.05, T_max: float = 20.0,
                       class_names=None):
    """A temperature slider that redraws ``softmax(z / T)`` for the logits ``z`` (``(C,)``).

    Left: the probabilities at the slider's ``T`` (``plot_probabilities``); right: every
    class's probability against ``T`` (``plot_temperature``). Returns an ipywidgets
    ``VBox(slider, text, plot)``; the text line (``describe_temperature``) lists the
    probabilities. Notebook 05.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    z = as_float_array("z", z, ndim=1)
    T_min = as_real("T_min", T_min, low=0, low_inclusive=False)
    T_max = as_real("T_max", T_max, low=T_min, low_inclusive=False)
    T = as_real("T", T, low=T_min, high=T_max)
    slider = widgets.FloatLogSlider(value=T, base=10, min=np.log10(T_min),
                                    max=np.log10(T_max), step=0.01, description="T",
                                    readout_format=".3g", continuous_update=True)
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
    return widgets.VBox([slider, text, out])
