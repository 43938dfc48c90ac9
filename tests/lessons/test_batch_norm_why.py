"""lessonlib.lessons.batch_norm_why: notebook 03's measurements of the lecture's claims."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessonlib.core.data import shared_digits  # noqa: E402
from lessonlib.lessons import batch_norm_why as why  # noqa: E402
from lessonlib.network import Network  # noqa: E402


def test_standardized_inputs_train_faster_and_runs_are_seeded():
    kw = dict(epochs=3, n_seeds=2)
    a = why.input_scaling_curves([0.3, 3.0], rng=np.random.default_rng(0), **kw)
    b = why.input_scaling_curves([0.3, 3.0], rng=np.random.default_rng(0), **kw)
    assert a["raw"].shape == a["standardized"].shape == (2, 2, 3)
    assert np.array_equal(a["raw"], b["raw"])
    assert np.all(a["standardized"][:, :, -1] < a["raw"][:, :, -1])     # the lecture's claim
    assert np.all(np.diff(a["standardized"], axis=2) < 0)                 # costs go down
    assert isinstance(why.plot_input_scaling(a), plt.Axes)
    plt.close("all")


def test_best_rate_skips_diverged_runs():
    curves = np.array([[[3.0, 2.0], [3.0, 0.5], [1.0, np.nan]]])
    assert why.best_rate(curves) == 1
    with pytest.raises(ValueError, match="curves"):
        why.best_rate(np.full((1, 2, 2), np.nan))


def test_layer_spread_shrinks_through_sigmoid_layers_and_not_with_batch_norm():
    X = shared_digits().val.X
    plain = why.layer_spread(Network([64, 50, 50, 50, 10], activation="sigmoid",
                                     rng=np.random.default_rng(0)), X)
    assert plain["spread"].shape == (3,)
    assert np.all(plain["spread"][1:] < plain["spread"][:-1] / 3)       # about 4x per layer
    assert np.all(plain["saturated"] == 0)
    bn = why.layer_spread(Network([64, 50, 50, 10], activation="sigmoid", batch_norm=True,
                                  rng=np.random.default_rng(0)), X)
    assert np.allclose(bn["spread"], 1.0, atol=1e-3)


def test_shift_images():
    X = np.arange(64.0)[:, None] / 64
    assert np.array_equal(why.shift_images(X, "none"), X)
    assert np.allclose(why.shift_images(X, "contrast"), 0.5 * X + 0.3)
    assert np.allclose(why.shift_images(X, "inverted"), 1 - X)
    moved = why.shift_images(X, "one pixel right").reshape(8, 8)
    assert np.all(moved[:, 0] == 0) and np.array_equal(moved[:, 1:], X.reshape(8, 8)[:, :-1])
    with pytest.raises(ValueError, match="kind"):
        why.shift_images(X, "rotated")
    assert isinstance(why.plot_shifted_digit(X[:, 0]), plt.Axes)
    plt.close("all")


def test_normalizing_undoes_a_contrast_change_but_not_a_move_or_an_inversion():
    model = why.covariate_shift_model(epochs=5, rng=np.random.default_rng(0))
    none = why.shifted_accuracy(model, "none")
    contrast = why.shifted_accuracy(model, "contrast")
    moved = why.shifted_accuracy(model, "one pixel right")
    inverted = why.shifted_accuracy(model, "inverted")
    assert none["training_stats"] > 0.9
    assert contrast["training_stats"] < 0.5
    assert contrast["own_stats"] == pytest.approx(none["own_stats"], abs=0.02)
    assert moved["own_stats"] < none["own_stats"] - 0.2
    assert inverted["own_stats"] < 0.1


def test_regularization_gap_pairs_runs_and_records_both_sets():
    kw = dict(n_seeds=2, epochs=3, hidden=(16,), batch_size=32)
    a = why.regularization_gap(rng=np.random.default_rng(0), **kw)
    b = why.regularization_gap(rng=np.random.default_rng(0), **kw)
    assert set(a) == {"without", "with"}
    for name in a:
        assert set(a[name]) == {"train", "val"} and a[name]["val"].shape == (2,)
        assert np.array_equal(a[name]["val"], b[name]["val"])
        assert np.all((a[name]["train"] > 0.3) & (a[name]["train"] <= 1))


def test_mean_and_error():
    mean, err = why.mean_and_error([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and err == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)
    with pytest.raises(ValueError, match="values"):
        why.mean_and_error([1.0])
