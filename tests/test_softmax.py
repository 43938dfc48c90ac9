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
