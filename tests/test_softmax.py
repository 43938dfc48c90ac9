import numpy as np
import pytest

from lessonlib import softmax as sm


def test_softmax_columns_sum_to_one_and_shift_invariance():
    Z = np.random.default_rng(0).standard_normal((5, 7))
    P = sm.softmax(Z)
    assert P.shape == (5, 7) and np.allclose(P.sum(axis=0), 1)
    assert np.allclose(sm.softmax(Z + 123.0), P)


def test_softmax_is_stable_for_large_logits():
    P = sm.softmax(np.array([[1000.0], [1001.0], [1002.0]]))
    assert np.allclose(P[:, 0], [0.0900306, 0.2447285, 0.6652410], atol=1e-6)
    assert np.all(np.isfinite(sm.log_softmax(np.array([[-1e4], [1e4]]))))


def test_one_hot_and_hardmax():
    Y = sm.one_hot([2, 0, 1], 3)
    assert np.array_equal(Y, [[0, 1, 0], [0, 0, 1], [1, 0, 0]])
    assert np.array_equal(sm.hardmax(np.array([[1.0, 5.0], [3.0, 2.0]])), [[0, 1], [1, 0]])


def test_cross_entropy_is_a_mean_and_finite_at_zero_probability():
    Y = sm.one_hot([0, 1], 2)
    Y_hat = np.array([[0.5, 0.0], [0.5, 1.0]])
    assert sm.cross_entropy_cost(Y_hat, Y) == pytest.approx(np.log(2) / 2)
    assert np.isfinite(sm.cross_entropy_cost(np.array([[0.0], [1.0]]), sm.one_hot([0], 2)))


def test_softmax_cross_entropy_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    Z, Y = rng.standard_normal((4, 6)), sm.one_hot(rng.integers(0, 4, 6), 4)
    cost, dZ = sm.softmax_cross_entropy(Z, Y)
    assert cost == pytest.approx(sm.cross_entropy_cost(sm.softmax(Z), Y))
    h, num = 1e-6, np.zeros_like(Z)
    for idx in np.ndindex(Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[idx] += h
        Zm[idx] -= h
        up, down = sm.softmax_cross_entropy(Zp, Y)[0], sm.softmax_cross_entropy(Zm, Y)[0]
        num[idx] = (up - down) / (2 * h)
    assert np.max(np.abs(num - dZ)) < 1e-8


@pytest.mark.parametrize("call, exc, word", [
    (lambda: sm.softmax(np.array([1.0, 2.0])), ValueError, "Z"),
    (lambda: sm.softmax(np.array([[np.nan]])), ValueError, "Z"),
    (lambda: sm.softmax("abc"), TypeError, "Z"),
    (lambda: sm.one_hot([0, 3], 3), ValueError, "y"),
    (lambda: sm.one_hot([0, 1], 0), ValueError, "C"),
    (lambda: sm.cross_entropy_cost(np.full((2, 1), 0.7), sm.one_hot([0], 2)), ValueError,
     "sum to 1"),
    (lambda: sm.cross_entropy_cost(np.full((2, 2), 0.5), sm.one_hot([0], 2)), ValueError, "shape"),
    (lambda: sm.softmax_cross_entropy(np.array([[np.inf], [0.0]]), sm.one_hot([0], 2)),
     ValueError, "Z"),
])
def test_bad_input_is_named(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


# ------------------------------------------------------------------ more of the maths

def test_softmax_keeps_float32_and_matches_float64():
    Z = np.random.default_rng(2).standard_normal((6, 5))
    P32 = sm.softmax(Z.astype(np.float32))
    assert P32.dtype == np.float32
    assert np.allclose(P32, sm.softmax(Z), atol=1e-6)


def test_softmax_does_not_change_its_input():
    Z = np.array([[1.0, 2.0], [3.0, 4.0]])
    before = Z.copy()
    sm.softmax(Z), sm.log_softmax(Z), sm.hardmax(Z)
    assert np.array_equal(Z, before)


@pytest.mark.parametrize("scale", [1e3, 1e4, 1e300])
def test_extreme_logits_stay_finite(scale):
    Z = scale * np.array([[-1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [0.5, 0.0, 0.0]])
    P = sm.softmax(Z)
    assert np.all(np.isfinite(P)) and np.allclose(P.sum(axis=0), 1)
    assert np.allclose(P[:, 0], [0, 1, 0]) and np.allclose(P[:, 2], 1 / 3)
    L = sm.log_softmax(Z)
    assert np.all(np.isfinite(L)) and np.allclose(np.exp(L), P)
    Y = sm.one_hot([0, 1, 2], 3)
    cost, dZ = sm.softmax_cross_entropy(Z, Y)
    assert np.isfinite(cost) and np.all(np.isfinite(dZ))
    assert np.allclose(dZ, (P - Y) / 3)
    assert sm.hardmax(Z)[1, 0] == 1


def test_log_softmax_equals_log_of_softmax():
    Z = np.random.default_rng(3).normal(0, 4, (5, 6))
    assert np.allclose(sm.log_softmax(Z), np.log(sm.softmax(Z)))


def test_hardmax_picks_first_on_ties_and_is_the_low_temperature_limit():
    assert np.array_equal(sm.hardmax(np.array([[2.0], [2.0], [1.0]]))[:, 0], [1, 0, 0])
    z = np.array([1.0, 3.0, 2.5])
    assert np.allclose(sm.softmax_with_temperature(z, 1e-3),
                       sm.hardmax(z[:, None])[:, 0])


def test_one_hot_accepts_lists_float_labels_and_unused_classes():
    Y = sm.one_hot(np.array([1.0, 1.0]), 4)
    assert Y.shape == (4, 2) and np.array_equal(Y.sum(axis=0), [1, 1])
    assert np.array_equal(Y[1], [1, 1])
    assert sm.one_hot([0], 1).shape == (1, 1)


def test_cross_entropy_is_small_only_when_the_true_class_is_likely():
    Y = sm.one_hot([0], 3)
    costs = [sm.cross_entropy_cost(np.array([[p], [(1 - p) / 2], [(1 - p) / 2]]), Y)
             for p in (0.99, 0.9, 0.5, 0.1, 0.01)]
    assert np.all(np.diff(costs) > 0) and costs[0] < 0.011 and costs[-1] > 4.6
    assert costs[2] == pytest.approx(np.log(2))


def test_cross_entropy_with_probability_exactly_zero_on_the_true_class():
    cost = sm.cross_entropy_cost(np.array([[0.0, 1.0], [1.0, 0.0]]), sm.one_hot([0, 0], 2))
    assert np.isfinite(cost) and cost > 300
    c32 = sm.cross_entropy_cost(np.array([[0.0], [1.0]], np.float32),
                                sm.one_hot([0], 2).astype(np.float32))
    assert np.isfinite(c32) and c32 > 80


def test_cross_entropy_accepts_soft_labels_and_float32():
    Y_hat = np.array([[0.25, 0.5], [0.75, 0.5]])
    Y = np.array([[0.5, 1.0], [0.5, 0.0]])
    want = -(0.5 * np.log(0.25) + 0.5 * np.log(0.75) + np.log(0.5)) / 2
    assert sm.cross_entropy_cost(Y_hat, Y) == pytest.approx(want)
    assert sm.cross_entropy_cost(Y_hat.astype(np.float32), Y) == pytest.approx(want, rel=1e-6)


def test_softmax_backward_is_the_gradient_of_the_cost():
    rng = np.random.default_rng(4)
    Z, Y = rng.standard_normal((3, 5)), sm.one_hot(rng.integers(0, 3, 5), 3)
    dZ = sm.softmax_backward(sm.softmax(Z), Y)
    assert dZ.shape == (3, 5)
    assert np.allclose(dZ, sm.softmax_cross_entropy(Z, Y)[1])
    assert np.allclose(dZ, sm.numerical_dZ(Z, Y), atol=1e-8)
    assert np.allclose(dZ.sum(axis=0), 0)          # columns of Y_hat and Y both sum to 1


def test_numerical_dz_leaves_its_input_alone_and_accepts_float32():
    Z = np.array([[0.5, -1.0], [2.0, 0.0]], np.float32)
    before = Z.copy()
    g = sm.numerical_dZ(Z, sm.one_hot([1, 0], 2))
    assert g.dtype == np.float64 and np.array_equal(Z, before)


def test_two_class_softmax_is_the_sigmoid_of_the_difference():
    Z = np.random.default_rng(5).normal(0, 5, (2, 50))
    assert np.allclose(sm.softmax(Z)[1], sm.sigmoid(Z[1] - Z[0]))
    assert np.allclose(sm.sigmoid(np.array([-1e4, 0.0, 1e4])), [0, 0.5, 1])


# ------------------------------------------------------------------ the model

def test_softmax_regression_separates_blobs_linearly():
    from lessonlib.data import make_blobs
    rng = np.random.default_rng(6)
    X, y = make_blobs(60, 4, spread=0.5, rng=rng)
    net, hist = sm.train_softmax_regression(X, y, epochs=30, batch_size=16,
                                            learning_rate=0.5, rng=rng)
    assert net.layer_dims == [2, 4] and net.n_layers == 1
    assert hist["train_acc"][-1] > 0.95 and hist["cost"][-1] < hist["cost"][0]
    assert net.params["W1"].shape == (4, 2)


def test_softmax_regression_is_deterministic_and_takes_validation_data():
    from lessonlib.data import make_blobs
    X, y = make_blobs(30, 3, rng=np.random.default_rng(7))
    runs = [sm.train_softmax_regression(X, y, n_classes=5, epochs=3, rng=np.random.default_rng(8),
                                        X_val=X, y_val=y) for _ in range(2)]
    assert runs[0][0].layer_dims == [2, 5]
    assert np.array_equal(runs[0][0].params["W1"], runs[1][0].params["W1"])
    assert len(runs[0][1]["val_acc"]) == 3


# ------------------------------------------------------------------ logic behind the pictures

def test_softmax_with_temperature_sharpens_and_flattens():
    z = np.array([2.0, 1.0, 0.1])
    assert np.allclose(sm.softmax_with_temperature(z, 1.0), sm.softmax(z[:, None])[:, 0])
    hot, cold = sm.softmax_with_temperature(z, 100.0), sm.softmax_with_temperature(z, 0.1)
    assert np.allclose(hot, 1 / 3, atol=0.01) and cold[0] > 0.9999
    Z = np.array([[1.0, 5.0], [2.0, 5.0]])
    assert np.allclose(sm.softmax_with_temperature(Z, 2.0), sm.softmax(Z / 2))
    tiny = sm.softmax_with_temperature(np.array([1000.0, -1000.0, 999.0]), 1e-300)
    assert np.array_equal(tiny, [1, 0, 0])
    huge = sm.softmax_with_temperature(np.array([1e4, -1e4]), 1e300)
    assert np.allclose(huge, 0.5)


def test_temperature_curves():
    z = np.array([3.0, 1.0, 0.0])
    P = sm.temperature_curves(z, [0.5, 1.0, 10.0])
    assert P.shape == (3, 3) and np.allclose(P.sum(axis=1), 1)
    assert P[0, 0] > P[1, 0] > P[2, 0]          # the top class loses probability as T grows
    assert "T = 1: probabilities 0.844 0.114 0.042" == sm.describe_temperature(z, 1.0)


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    cm = sm.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 4)
    assert cm.shape == (4, 4) and cm.dtype.kind == "i"
    assert np.array_equal(cm[:3, :3], [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert cm.sum() == 6 and cm.trace() == 4 and not cm[3].any()


def test_misclassified_indices():
    assert np.array_equal(sm.misclassified([0, 1, 2, 3], [0, 2, 2, 1]), [1, 3])
    assert np.array_equal(sm.misclassified([0, 1, 2, 3], [0, 2, 2, 1], k=1), [1])
    assert sm.misclassified([1, 1], [1, 1]).size == 0


def test_decision_regions_of_a_linear_rule():
    X = np.array([[-1.0, 1.0], [-2.0, 2.0]])
    xx, yy, labels = sm.decision_regions(lambda P: (P[0] > 0).astype(int), X, resolution=11,
                                         margin=1.0)
    assert xx.shape == yy.shape == labels.shape == (11, 11)
    assert xx.min() == -2 and xx.max() == 2 and yy.min() == -3 and yy.max() == 3
    assert np.array_equal(labels, (xx > 0).astype(int))


def test_tile_images_places_each_image_and_pads_with_nan():
    X = np.arange(2 * 4 * 3, dtype=float).reshape(3, 8).T      # 3 images of 2x4, as columns
    mosaic = sm.tile_images(X, (2, 4), ncols=2, pad=1)
    assert mosaic.shape == (2 * 3 - 1, 2 * 5 - 1)
    assert np.array_equal(mosaic[:2, :4], X[:, 0].reshape(2, 4))
    assert np.array_equal(mosaic[:2, 5:], X[:, 1].reshape(2, 4))
    assert np.array_equal(mosaic[3:, :4], X[:, 2].reshape(2, 4))
    assert np.isnan(mosaic[2]).all() and np.isnan(mosaic[3:, 5:]).all()
    assert sm.tile_images(X, (2, 4), ncols=10).shape == (2, 3 * 5 - 1)


# ------------------------------------------------------------------ pictures and widget

def test_plots_return_axes():
    import matplotlib.pyplot as plt

    from lessonlib.data import make_blobs

    X, y = make_blobs(10, 3, rng=np.random.default_rng(9))
    ax = sm.plot_decision_boundary(lambda P: (P[0] > 0).astype(int) + (P[1] > 0), X, y,
                                   resolution=20)
    assert ax.get_title() == "3 classes" and len(ax.collections) >= 3
    cm = sm.confusion_matrix(y, np.roll(y, 1), 3)
    ax = sm.plot_confusion_matrix(cm, class_names=["a", "b", "c"])
    assert f"{cm.trace()} of 30 correct" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    images = np.random.default_rng(10).random((64, 12))
    y_true, y_pred = np.arange(12) % 10, (np.arange(12) + (np.arange(12) % 3 == 0)) % 10
    ax = sm.plot_misclassified(images, y_true, y_pred, n=3)
    assert "3 misclassified" in ax.get_title()
    assert [t.get_text() for t in ax.texts] == ["0 → 1", "3 → 4", "6 → 7"]
    assert "no misclassified" in sm.plot_misclassified(images, y_true, y_true).get_title()
    hist = {"cost": [1.0, 0.5, 0.3], "train_acc": [0.5, 0.8, 0.9], "val_acc": [0.4, 0.7, 0.85]}
    ax = sm.plot_learning_curve(hist)
    assert len(ax.get_legend().get_texts()) == 3
    ax = sm.plot_probabilities([0.2, 0.8], title="p")
    assert ax.get_title() == "p" and len(ax.patches) == 2
    ax = sm.plot_temperature([1.0, 0.0, -1.0], T=2.0)
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 5   # 3 classes, 1/C, T
    _, given = plt.subplots()
    assert sm.plot_probabilities([1.0], given) is given
    plt.close("all")


def test_temperature_widget_builds_and_follows_the_slider():
    import matplotlib.pyplot as plt
    box = sm.temperature_widget([2.0, 1.0, 0.1], T=1.0)
    slider, text, _ = box.children
    assert text.value == sm.describe_temperature([2.0, 1.0, 0.1], 1.0)
    slider.value = 10.0
    assert text.value.startswith("T = 10:")
    assert abs(slider.value - 10.0) < 1e-9
    assert plt.get_fignums() == []                 # the widget closes what it draws


# ------------------------------------------------------------------ bad input, by name

_Y2 = np.array([[1.0], [0.0]])


@pytest.mark.parametrize("call, exc, word", [
    (lambda: sm.softmax(np.ones((2, 0))), ValueError, "Z"),
    (lambda: sm.softmax(None), TypeError, "Z"),
    (lambda: sm.softmax(np.array([[1 + 1j]])), TypeError, "Z"),
    (lambda: sm.log_softmax(np.array([[-np.inf], [0.0]])), ValueError, "Z"),
    (lambda: sm.hardmax(np.ones(3)), ValueError, "Z"),
    (lambda: sm.one_hot([-1, 0], 2), ValueError, "y"),
    (lambda: sm.one_hot([[0, 1]], 2), ValueError, "y"),
    (lambda: sm.one_hot([0.5], 2), TypeError, "y"),
    (lambda: sm.one_hot([0], 2.0), TypeError, "C"),
    (lambda: sm.cross_entropy_cost(np.array([[1.5], [-0.5]]), _Y2), ValueError, "Y_hat"),
    (lambda: sm.cross_entropy_cost(np.array([[np.nan], [1.0]]), _Y2), ValueError, "Y_hat"),
    (lambda: sm.cross_entropy_cost(np.array([[0.5], [0.5]]), np.array([[1.0], [1.0]])),
     ValueError, "Y"),
    (lambda: sm.cross_entropy_cost(np.array([0.5, 0.5]), np.array([1.0, 0.0])), ValueError,
     "Y_hat"),
    (lambda: sm.softmax_backward(np.full((2, 1), 0.5), np.ones((3, 1)) / 3), ValueError,
     "shape"),
    (lambda: sm.softmax_backward(np.full((2, 1), 0.3), _Y2), ValueError, "Y_hat"),
    (lambda: sm.softmax_cross_entropy(np.zeros((2, 1)), np.zeros((2, 1))), ValueError, "Y"),
    (lambda: sm.softmax_cross_entropy(np.zeros((3, 1)), _Y2), ValueError, "shape"),
    (lambda: sm.numerical_dZ(np.zeros((2, 1)), _Y2, h=0), ValueError, "h"),
    (lambda: sm.numerical_dZ(np.zeros((2, 2)), _Y2), ValueError, "shape"),
    (lambda: sm.sigmoid("x"), TypeError, "z"),
    (lambda: sm.softmax_with_temperature([1.0, 2.0], 0), ValueError, "T"),
    (lambda: sm.softmax_with_temperature([1.0, 2.0], "hot"), TypeError, "T"),
    (lambda: sm.softmax_with_temperature(np.ones((2, 2, 2)), 1.0), ValueError, "z"),
    (lambda: sm.softmax_with_temperature([np.inf, 0.0], 1.0), ValueError, "z"),
    (lambda: sm.temperature_curves([1.0, 2.0], [1.0, -1.0]), ValueError, "temperatures"),
    (lambda: sm.confusion_matrix([0, 1], [0, 3], 3), ValueError, "y_pred"),
    (lambda: sm.confusion_matrix([0, 5], [0, 1], 3), ValueError, "y_true"),
    (lambda: sm.confusion_matrix([0, 1], [0, 1, 1], 3), ValueError, "shape"),
    (lambda: sm.misclassified([0, 1], [0, 1], k=-1), ValueError, "k"),
    (lambda: sm.decision_regions("net", np.zeros((2, 3))), TypeError, "predict"),
    (lambda: sm.decision_regions(lambda P: P[0], np.zeros((3, 3))), ValueError, "X"),
    (lambda: sm.decision_regions(lambda P: P, np.zeros((2, 3)), resolution=4), ValueError,
     "predict"),
    (lambda: sm.tile_images(np.zeros((10, 2)), (3, 3)), ValueError, "X"),
    (lambda: sm.plot_confusion_matrix(np.zeros((2, 3))), ValueError, "cm"),
    (lambda: sm.plot_learning_curve({"cost": []}), ValueError, "history"),
    (lambda: sm.plot_probabilities([0.5, 0.5], class_names=["a"]), ValueError,
     "class_names"),
    (lambda: sm.temperature_widget([1.0, 2.0], T=100.0), ValueError, "T"),
    (lambda: sm.temperature_widget([1.0, 2.0], T_min=0), ValueError, "T_min"),
    (lambda: sm.train_softmax_regression(np.zeros((2, 3)), [0, 1], rng=np.random.default_rng(0)),
     ValueError, "y"),
    (lambda: sm.train_softmax_regression(np.zeros((2, 2)), [0, 3], n_classes=2,
                                         rng=np.random.default_rng(0)), ValueError, "y"),
    (lambda: sm.train_softmax_regression(np.zeros((2, 2)), [0, 1], rng=0), TypeError, "rng"),
])
def test_more_bad_input_is_named(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


def test_probabilities_may_carry_rounding_error():
    Y_hat = np.array([[1 + 1e-9, 0.3], [-1e-9, 0.7]])
    assert np.isfinite(sm.cross_entropy_cost(Y_hat, sm.one_hot([0, 1], 2)))
    with pytest.raises(ValueError, match="Y_hat must hold probabilities"):
        sm.cross_entropy_cost(np.array([[1.01], [-0.01]]), sm.one_hot([0], 2))
