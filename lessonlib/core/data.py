"""Data sets in course shapes: the UCI handwritten digits and synthetic 2-D sets.

Every ``X`` here has shape ``(n_x, m)`` (one example per column) and every ``y`` has shape
``(m,)`` with integer labels in ``[0, C)``. Introduced in notebook 01; part of the core floor.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .paths import data_dir
from .validate import as_int, as_real, as_rng

DIGITS_FILE = "digits.npz"
DIGITS_SHA256 = "87ff0c9e40dc7e2c0e34e7257799c2e3f3aec1a016363bb11cad869ec428a826"
DIGITS_SPLIT_SEED = 20261124


@dataclass(frozen=True)
class Split:
    """One part of a data set: ``X`` of shape ``(n_x, m)``, ``y`` of shape ``(m,)``."""

    X: np.ndarray
    y: np.ndarray

    @property
    def m(self) -> int:
        return self.X.shape[1]


@dataclass(frozen=True)
class Digits:
    """The digits in fixed train / validation / test splits (``X`` is ``(64, m)``, in [0, 1])."""

    train: Split
    val: Split
    test: Split
    n_classes: int = 10
    image_shape: tuple = (8, 8)


def _read_digits(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(
            f"the digits data file is missing: {path}. It ships with the workbook in data/; "
            "restore it with `git checkout -- data/digits.npz`, or set LESSONLIB_DATA_DIR "
            "to the folder that holds it.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            pixels, labels = npz["pixels"], npz["labels"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"the digits data file {path} is damaged ({err}); restore it with "
                         "`git checkout -- data/digits.npz`") from err
    digest = hashlib.sha256(pixels.tobytes() + labels.tobytes()).hexdigest()
    if digest != DIGITS_SHA256 or pixels.shape != (1797, 64) or labels.shape != (1797,):
        raise ValueError(f"the digits data file {path} is damaged: its content does not "
                         "match the checksum in data/README.md; restore it with "
                         "`git checkout -- data/digits.npz`")
    return pixels, labels


def load_digits(*, val_fraction: float = 0.2, test_fraction: float = 0.2,
                dtype=np.float64) -> Digits:
    """Load the UCI digits in course shapes with fixed, stratified splits.

    Returns a ``Digits`` whose ``train``, ``val`` and ``test`` each hold ``X`` of shape
    ``(64, m)`` with pixels scaled to [0, 1] and ``y`` of shape ``(m,)`` with labels 0..9.
    The split is the same on every call and every machine (a fixed seed, per class).
    """
    val_fraction = as_real("val_fraction", val_fraction, low=0, high=1, high_inclusive=False)
    test_fraction = as_real("test_fraction", test_fraction, low=0, high=1,
                            high_inclusive=False)
    if val_fraction + test_fraction >= 1:
        raise ValueError("val_fraction + test_fraction must be < 1, got "
                         f"{val_fraction + test_fraction:g}")
    try:
        np_dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if np_dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {np_dtype}")
    pixels, labels = _read_digits(data_dir() / DIGITS_FILE)
    rng = np.random.default_rng(DIGITS_SPLIT_SEED)
    parts = {"train": [], "val": [], "test": []}
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = round(val_fraction * idx.size)
        n_test = round(test_fraction * idx.size)
        parts["val"].append(idx[:n_val])
        parts["test"].append(idx[n_val:n_val + n_test])
        parts["train"].append(idx[n_val + n_test:])
    splits = {}
    for name, chunks in parts.items():
        idx = rng.permutation(np.concatenate(chunks))
        X = (pixels[idx].T / 16.0).astype(dtype)
        splits[name] = Split(X=np.ascontiguousarray(X), y=labels[idx].astype(np.int64))
    return Digits(**splits)


@lru_cache(maxsize=1)
def shared_digits() -> Digits:
    """``load_digits()`` loaded once per process for lessonlib's own experiments, with its
    arrays read-only so that no caller can change what the next one gets."""
    digits = load_digits()
    for part in (digits.train, digits.val, digits.test):
        part.X.flags.writeable = False
        part.y.flags.writeable = False
    return digits


def _class_labels(n_per_class, n_classes) -> tuple[int, int, np.ndarray]:
    """The validated counts and the ``(m,)`` labels ``0, ..., 0, 1, ..., C - 1``,
    ``n_per_class`` of each."""
    n_per_class = as_int("n_per_class", n_per_class, low=1)
    n_classes = as_int("n_classes", n_classes, low=2)
    return n_per_class, n_classes, np.repeat(np.arange(n_classes), n_per_class)


def make_blobs(n_per_class: int, n_classes: int = 3, *, spread: float = 0.6,
               radius: float = 2.0, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs around ``n_classes`` centres evenly spaced on a circle.

    Returns ``X`` of shape ``(2, m)`` and ``y`` of shape ``(m,)``, ``m = n_per_class * C``.
    """
    n_per_class, n_classes, y = _class_labels(n_per_class, n_classes)
    spread = as_real("spread", spread, low=0)
    radius = as_real("radius", radius, low=0)
    rng = as_rng(rng)
    angles = 2 * np.pi * np.arange(n_classes) / n_classes
    centres = radius * np.stack([np.cos(angles), np.sin(angles)])          # (2, C)
    X = centres[:, y] + spread * rng.standard_normal((2, y.size))
    return X, y


def make_spirals(n_per_class: int, n_classes: int = 3, *, noise: float = 0.2,
                 turns: float = 1.0, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class: a set no linear classifier separates.

    Returns ``X`` of shape ``(2, m)`` and ``y`` of shape ``(m,)``, ``m = n_per_class * C``.
    """
    n_per_class, n_classes, y = _class_labels(n_per_class, n_classes)
    noise = as_real("noise", noise, low=0)
    turns = as_real("turns", turns, low=0, low_inclusive=False)
    rng = as_rng(rng)
    r = np.tile(np.linspace(0.05, 1.0, n_per_class), n_classes)
    theta = 2 * np.pi * (turns * r + y / n_classes) + noise * rng.standard_normal(y.size)
    X = np.stack([r * np.cos(theta), r * np.sin(theta)])
    return X, y
