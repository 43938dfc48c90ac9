"""lessonlib.layers.softmax: softmax, one-hot labels, the cost and its gradient."""

import numpy as np
import pytest
from lessonlib_instructor import answers

from lessonlib.layers import activations, softmax


def test_softmax_columns_sum_to_one_and_shift_invariance():
    Z = np.random.default_rng(0).standard_normal((5, 7))
    P = softmax.softmax(Z)
    assert P.shape == (5, 7) and np.allclose(P.sum(axis=0), 1)
    assert np.allclose(softmax.softmax(Z + 123.0), P)


def test_softmax_is_stable_for_large_logits():
    P = softmax.softmax(np.array([[1000.0], [1001.0], [1002.0]]))
    assert np.allclose(P[:, 0], [0.0900306, 0.2447285, 0.6652410], atol=1e-6)


def test_one_hot_and_hardmax():
    Y = softmax.one_hot([2, 0, 1], 3)
    assert np.array_equal(Y, [[0, 1, 0], [0, 0, 1], [1, 0, 0]])
    assert np.array_equal(softmax.hardmax(np.array([[1.0, 5.0], [3.0, 2.0]])), [[0, 1], [1, 0]])


def test_cross_entropy_is_a_mean_and_finite_at_zero_probability():
    Y = softmax.one_hot([0, 1], 2)
    Y_hat = np.array([[0.5, 0.0], [0.5, 1.0]])
    assert softmax.cross_entropy_cost(Y_hat, Y) == pytest.approx(np.log(2) / 2)
    assert np.isfinite(softmax.cross_entropy_cost(np.array([[0.0], [1.0]]),
                                                  softmax.one_hot([0], 2)))


def test_softmax_cross_entropy_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    Z, Y = rng.standard_normal((4, 6)), softmax.one_hot(rng.integers(0, 4, 6), 4)
    cost, dZ = answers.softmax_cross_entropy(Z, Y)
    assert cost == pytest.approx(softmax.cross_entropy_cost(softmax.softmax(Z), Y))
    h, num = 1e-6, np.zeros_like(Z)
    for idx in np.ndindex(Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[idx] += h
        Zm[idx] -= h
        up, down = answers.softmax_cross_entropy(Zp, Y)[0], answers.softmax_cross_entropy(Zm, Y)[0]
        num[idx] = (up - down) / (2 * h)
    assert np.max(np.abs(num - dZ)) < 1e-8


@pytest.mark.parametrize("call, exc, word", [
    (lambda: softmax.softmax(np.array([1.0, 2.0])), ValueError, "Z"),
    (lambda: softmax.softmax(np.array([[np.nan]])), ValueError, "Z"),
    (lambda: softmax.softmax("abc"), TypeError, "Z"),
    (lambda: softmax.one_hot([0, 3], 3), ValueError, "y"),
    (lambda: softmax.one_hot([0, 1], 0), ValueError, "C"),
    (lambda: softmax.cross_entropy_cost(np.full((2, 1), 0.7), softmax.one_hot([0], 2)), ValueError,
     "sum to 1"),
    (lambda: softmax.cross_entropy_cost(np.full((2, 2), 0.5), softmax.one_hot([0], 2)),
     ValueError, "shape"),
    (lambda: answers.softmax_cross_entropy(np.array([[np.inf], [0.0]]), softmax.one_hot([0], 2)),
     ValueError, "Z"),
])
def test_bad_input_is_named(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


def test_softmax_keeps_float32_and_matches_float64():
    Z = np.random.default_rng(2).standard_normal((6, 5))
    P32 = softmax.softmax(Z.astype(np.float32))
    assert P32.dtype == np.float32
    assert np.allclose(P32, softmax.softmax(Z), atol=1e-6)


def test_softmax_does_not_change_its_input():
    Z = np.array([[1.0, 2.0], [3.0, 4.0]])
    before = Z.copy()
    softmax.softmax(Z), softmax.hardmax(Z)
    assert np.array_equal(Z, before)


@pytest.mark.parametrize("scale", [1e3, 1e4, 1e300])
def test_extreme_logits_stay_finite(scale):
    Z = scale * np.array([[-1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [0.5, 0.0, 0.0]])
    P = softmax.softmax(Z)
    assert np.all(np.isfinite(P)) and np.allclose(P.sum(axis=0), 1)
    assert np.allclose(P[:, 0], [0, 1, 0]) and np.allclose(P[:, 2], 1 / 3)
    Y = softmax.one_hot([0, 1, 2], 3)
    cost, dZ = answers.softmax_cross_entropy(Z, Y)
    assert np.isfinite(cost) and np.all(np.isfinite(dZ))
    assert np.allclose(dZ, (P - Y) / 3)
    assert softmax.hardmax(Z)[1, 0] == 1


def test_one_hot_accepts_lists_float_labels_and_unused_classes():
    Y = softmax.one_hot(np.array([1.0, 1.0]), 4)
    assert Y.shape == (4, 2) and np.array_equal(Y.sum(axis=0), [1, 1])
    assert np.array_equal(Y[1], [1, 1])
    assert softmax.one_hot([0], 1).shape == (1, 1)


def test_cross_entropy_is_small_only_when_the_true_class_is_likely():
    Y = softmax.one_hot([0], 3)
    costs = [softmax.cross_entropy_cost(np.array([[p], [(1 - p) / 2], [(1 - p) / 2]]), Y)
             for p in (0.99, 0.9, 0.5, 0.1, 0.01)]
    assert np.all(np.diff(costs) > 0) and costs[0] < 0.011 and costs[-1] > 4.6
    assert costs[2] == pytest.approx(np.log(2))


def test_cross_entropy_with_probability_exactly_zero_on_the_true_class():
    cost = softmax.cross_entropy_cost(np.array([[0.0, 1.0], [1.0, 0.0]]),
                                      softmax.one_hot([0, 0], 2))
    assert np.isfinite(cost) and cost > 300
    c32 = softmax.cross_entropy_cost(np.array([[0.0], [1.0]], np.float32),
                                softmax.one_hot([0], 2).astype(np.float32))
    assert np.isfinite(c32) and c32 > 80


def test_cross_entropy_accepts_soft_labels_and_float32():
    Y_hat = np.array([[0.25, 0.5], [0.75, 0.5]])
    Y = np.array([[0.5, 1.0], [0.5, 0.0]])
    want = -(0.5 * np.log(0.25) + 0.5 * np.log(0.75) + np.log(0.5)) / 2
    assert softmax.cross_entropy_cost(Y_hat, Y) == pytest.approx(want)
    assert softmax.cross_entropy_cost(Y_hat.astype(np.float32), Y) == pytest.approx(want, rel=1e-6)


def test_softmax_backward_is_the_gradient_of_the_cost():
    rng = np.random.default_rng(4)
    Z, Y = rng.standard_normal((3, 5)), softmax.one_hot(rng.integers(0, 3, 5), 3)
    dZ = answers.softmax_backward(softmax.softmax(Z), Y)
    assert dZ.shape == (3, 5)
    assert np.allclose(dZ, answers.softmax_cross_entropy(Z, Y)[1])
    assert np.allclose(dZ, softmax.numerical_dZ(Z, Y), atol=1e-8)
    assert np.allclose(dZ.sum(axis=0), 0)          # columns of Y_hat and Y both sum to 1


def test_numerical_dz_leaves_its_input_alone_and_accepts_float32():
    Z = np.array([[0.5, -1.0], [2.0, 0.0]], np.float32)
    before = Z.copy()
    g = softmax.numerical_dZ(Z, softmax.one_hot([1, 0], 2))
    assert g.dtype == np.float64 and np.array_equal(Z, before)


def test_two_class_softmax_is_the_sigmoid_of_the_difference():
    Z = np.random.default_rng(5).normal(0, 5, (2, 50))
    assert np.allclose(softmax.softmax(Z)[1], activations.sigmoid(Z[1] - Z[0]))
    assert np.allclose(activations.sigmoid(np.array([-1e4, 0.0, 1e4])), [0, 0.5, 1])


def test_probabilities_may_carry_rounding_error():
    Y_hat = np.array([[1 + 1e-9, 0.3], [-1e-9, 0.7]])
    assert np.isfinite(softmax.cross_entropy_cost(Y_hat, softmax.one_hot([0, 1], 2)))
    with pytest.raises(ValueError, match="Y_hat must hold probabilities"):
        softmax.cross_entropy_cost(np.array([[1.01], [-0.01]]), softmax.one_hot([0], 2))
