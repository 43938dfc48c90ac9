"""lessonlib.layers.batchnorm: forward, backward, running statistics, the layer, folding."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from lessonlib_instructor import answers  # noqa: E402

from lessonlib.core.gradcheck import numerical_gradient, relative_error  # noqa: E402
from lessonlib.layers import batchnorm  # noqa: E402
from lessonlib.layers.batchnorm import batchnorm_inference, fold_batchnorm  # noqa: E402


def _case(seed=0, n=4, m=10):
    rng = np.random.default_rng(seed)
    Z = rng.uniform(0.5, 3, (n, 1)) * rng.standard_normal((n, m)) + rng.normal(0, 4, (n, 1))
    return Z, rng.uniform(0.5, 2, (n, 1)), rng.standard_normal((n, 1)), rng


def test_forward_normalizes_each_unit_over_examples():
    Z, _, _, _ = _case()
    out, cache = batchnorm.batchnorm_forward(Z, np.ones((4, 1)), np.zeros((4, 1)), eps=1e-5)
    assert out.shape == Z.shape
    assert np.allclose(out.mean(axis=1), 0, atol=1e-12)
    var = Z.var(axis=1)                            # biased
    assert np.allclose(out.var(axis=1), var / (var + 1e-5), rtol=1e-12)
    assert np.allclose(cache.mu[:, 0], Z.mean(axis=1))
    assert np.allclose(cache.var[:, 0], var)
    assert cache.mu.shape == cache.var.shape == (4, 1)


def test_forward_gamma_beta_and_cache_tuple():
    Z, gamma, beta, _ = _case(1)
    out, cache = batchnorm.batchnorm_forward(Z, gamma, beta, eps=0.1)
    Z_hat = (Z - Z.mean(1, keepdims=True)) / np.sqrt(Z.var(1, keepdims=True) + 0.1)
    assert np.allclose(out, gamma * Z_hat + beta)
    Zc, Z_hat_c, mu, var, g, eps = cache           # unpacks as the documented tuple
    assert Zc is Z and np.allclose(Z_hat_c, Z_hat) and g is gamma and eps == 0.1
    assert isinstance(cache, tuple) and len(cache) == 6


def test_forward_does_not_modify_inputs_and_keeps_float32():
    Z, gamma, beta, _ = _case(2)
    Z32, g32, b32 = (a.astype(np.float32) for a in (Z, gamma, beta))
    copies = [a.copy() for a in (Z32, g32, b32)]
    out, _ = batchnorm.batchnorm_forward(Z32, g32, b32)
    assert out.dtype == np.float32
    assert all(np.array_equal(a, c) for a, c in zip((Z32, g32, b32), copies))


def test_constant_unit_gives_beta():
    Z = np.vstack([np.full(5, 3.0), np.arange(5.0)])
    out, _ = batchnorm.batchnorm_forward(Z, np.ones((2, 1)), np.array([[7.0], [0.0]]))
    assert np.allclose(out[0], 7.0)


@pytest.mark.parametrize("seed, n, m, eps", [(0, 4, 10, 1e-5), (1, 1, 3, 1e-3),
                                             (2, 3, 40, 0.5), (3, 6, 2, 1e-2)])
def test_backward_matches_numerical_gradient(seed, n, m, eps):
    Z, gamma, beta, rng = _case(seed, n, m)
    G = rng.standard_normal((n, m)) + rng.standard_normal((n, 1))
    _, cache = batchnorm.batchnorm_forward(Z, gamma, beta, eps)
    dZ, dgamma, dbeta = answers.batchnorm_backward(G, cache)

    def cost(Zx, gx, bx):
        return float(np.sum(G * batchnorm.batchnorm_forward(Zx, gx, bx, eps)[0]))

    assert relative_error(dZ, numerical_gradient(lambda x: cost(x, gamma, beta), Z)) < 1e-7
    assert relative_error(dgamma,
                          numerical_gradient(lambda x: cost(Z, x, beta), gamma)) < 1e-7
    assert relative_error(dbeta, numerical_gradient(lambda x: cost(Z, gamma, x), beta)) < 1e-7
    assert dgamma.shape == dbeta.shape == (n, 1)
    assert np.allclose(dZ.sum(axis=1), 0, atol=1e-10)   # a shift of Z changes nothing


def test_backward_accepts_a_plain_tuple_and_float32():
    Z, gamma, beta, rng = _case(4)
    G = rng.standard_normal(Z.shape)
    _, cache = batchnorm.batchnorm_forward(Z, gamma, beta)
    a = answers.batchnorm_backward(G, cache)
    b = answers.batchnorm_backward(G, tuple(cache))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    _, c32 = batchnorm.batchnorm_forward(Z.astype(np.float32), gamma.astype(np.float32),
                                  beta.astype(np.float32))
    d32 = answers.batchnorm_backward(G.astype(np.float32), c32)
    assert d32[0].dtype == np.float32
    assert np.allclose(d32[0], a[0], rtol=1e-3, atol=1e-4)


def test_backward_is_vectorized_on_a_large_batch():
    rng = np.random.default_rng(5)
    Z = rng.standard_normal((256, 4096))
    _, cache = batchnorm.batchnorm_forward(Z, np.ones((256, 1)), np.zeros((256, 1)))
    dZ, _, _ = answers.batchnorm_backward(rng.standard_normal(Z.shape), cache)
    assert dZ.shape == Z.shape


def test_recover_gamma_beta_gives_z_back():
    Z, _, _, _ = _case(6, 5, 30)
    for eps in (1e-8, 1e-5, 0.5):
        gamma, beta = answers.recover_gamma_beta(Z, eps)
        assert gamma.shape == beta.shape == (5, 1)
        assert np.allclose(batchnorm.batchnorm_forward(Z, gamma, beta, eps)[0], Z, rtol=1e-12,
                           atol=1e-12)


Z_OK = np.arange(6.0).reshape(2, 3)
ONES, ZEROS = np.ones((2, 1)), np.zeros((2, 1))


@pytest.mark.parametrize("args, exc, words", [
    ((np.arange(3.0).reshape(3, 1), np.ones((3, 1)), np.zeros((3, 1))), ValueError,
     "at least 2 examples"),
    ((np.arange(3.0), ONES, ZEROS), ValueError, "Z must have 2 dimension"),
    ((Z_OK, np.ones(2), ZEROS), ValueError, r"gamma must have shape \(2, 1\)"),
    ((Z_OK, ONES, np.zeros((3, 1))), ValueError, r"beta must have shape \(2, 1\)"),
    ((Z_OK, ONES, np.zeros((1, 2))), ValueError, "beta"),
    ((np.array([[1.0, np.nan], [0.0, 1.0]]), ONES, ZEROS), ValueError, "Z must be finite"),
    ((Z_OK, np.array([[np.inf], [1.0]]), ZEROS), ValueError, "gamma must be finite"),
    (("abc", ONES, ZEROS), TypeError, "Z must be an array"),
    ((Z_OK, ONES, ZEROS, 0.0), ValueError, "eps must be > 0"),
    ((Z_OK, ONES, ZEROS, "1e-5"), TypeError, "eps must be a real number"),
    ((Z_OK, ONES, None), TypeError, "beta"),
])
def test_forward_bad_input(args, exc, words):
    with pytest.raises(exc, match=words):
        batchnorm.batchnorm_forward(*args)


def test_backward_bad_input():
    _, cache = batchnorm.batchnorm_forward(Z_OK, ONES, ZEROS)
    with pytest.raises(ValueError, match=r"dZ_tilde must have the shape of Z, \(2, 3\)"):
        answers.batchnorm_backward(np.ones((3, 2)), cache)
    with pytest.raises(ValueError, match="dZ_tilde must be finite"):
        answers.batchnorm_backward(np.full((2, 3), np.nan), cache)
    with pytest.raises(TypeError, match="cache must be the 6-tuple"):
        answers.batchnorm_backward(np.ones((2, 3)), cache[:4])
    with pytest.raises(TypeError, match="cache"):
        answers.batchnorm_backward(np.ones((2, 3)), {"Z": Z_OK})
    with pytest.raises(ValueError, match="var must be >= 0"):
        answers.batchnorm_backward(np.ones((2, 3)), cache._replace(var=-np.ones((2, 1))))


def test_recover_bad_input():
    with pytest.raises(ValueError, match="at least 2 examples"):
        answers.recover_gamma_beta(np.ones((3, 1)))
    with pytest.raises(ValueError, match="eps"):
        answers.recover_gamma_beta(Z_OK, -1.0)


def _stats(seed=0, n=4):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 1)), rng.uniform(0.5, 2, (n, 1)),
            rng.normal(3, 1, (n, 1)), rng.uniform(1, 4, (n, 1)))


RM, RV, MU, VAR = _stats(3, n=2)


def test_update_running_stats_is_the_ema_step_and_returns_new_arrays():
    rm, rv, mu, var = _stats()
    copies = [a.copy() for a in (rm, rv, mu, var)]
    new_m, new_v = batchnorm.update_running_stats(rm, rv, mu, var, 0.9)
    assert np.allclose(new_m, 0.9 * rm + 0.1 * mu, rtol=1e-15)
    assert np.allclose(new_v, 0.9 * rv + 0.1 * var, rtol=1e-15)
    assert all(np.array_equal(a, c) for a, c in zip((rm, rv, mu, var), copies))
    assert new_m is not rm and new_v is not rv
    m0, v0 = batchnorm.update_running_stats(rm, rv, mu, var, 0.0)       # decay 0: the batch only
    assert np.array_equal(m0, mu) and np.array_equal(v0, var)


def test_update_running_stats_keeps_float32():
    out = batchnorm.update_running_stats(*(a.astype(np.float32) for a in _stats(2)), 0.9)
    assert all(a.dtype == np.float32 for a in out)


@pytest.mark.parametrize("args, exc, words", [
    ((RM.ravel(), RV, MU, VAR, 0.9), ValueError, r"running_mean must have shape \(n, 1\)"),
    ((RM, RV[:1], MU, VAR, 0.9), ValueError, r"running_var must have shape \(2, 1\)"),
    ((RM, RV, np.zeros((3, 1)), VAR, 0.9), ValueError, r"mu must have shape \(2, 1\)"),
    ((RM, RV, MU, VAR.T, 0.9), ValueError, r"var must have shape \(2, 1\)"),
    ((RM, RV, np.array([[np.nan], [0.0]]), VAR, 0.9), ValueError, "mu must be finite"),
    ((RM, -RV, MU, VAR, 0.9), ValueError, "running_var must be >= 0"),
    ((RM, RV, MU, -VAR, 0.9), ValueError, "var must be >= 0"),
    ((RM, RV, MU, VAR, 1.0), ValueError, "decay must be < 1"),
    ((RM, RV, MU, VAR, -0.1), ValueError, "decay must be >= 0"),
    ((RM, RV, MU, VAR, "0.9"), TypeError, "decay must be a real number"),
    ((None, RV, MU, VAR, 0.9), TypeError, "running_mean must be an array"),
])
def test_update_running_stats_bad_input(args, exc, words):
    with pytest.raises(exc, match=words):
        batchnorm.update_running_stats(*args)


def test_batchnorm_inference_uses_running_statistics_column_by_column():
    Z, gamma, beta, _ = _case(7, 3, 12)
    rm, rv = np.array([[1.0], [-2.0], [0.5]]), np.array([[4.0], [0.25], [1.0]])
    out = batchnorm.batchnorm_inference(Z, gamma, beta, rm, rv, eps=1e-3)
    assert np.allclose(out, gamma * (Z - rm) / np.sqrt(rv + 1e-3) + beta, rtol=1e-14)
    one = batchnorm.batchnorm_inference(Z[:, [4]], gamma, beta, rm, rv, eps=1e-3)   # a batch of one
    assert one.shape == (3, 1) and np.allclose(one, out[:, [4]], rtol=1e-14)
    parts = np.hstack([batchnorm.batchnorm_inference(Z[:, s], gamma, beta, rm, rv, eps=1e-3)
                       for s in (slice(0, 5), slice(5, 12))])
    assert np.allclose(parts, out, rtol=1e-14)
    assert not np.allclose(out, batchnorm.batchnorm_forward(Z, gamma, beta, 1e-3)[0])


def test_batchnorm_inference_leaves_inputs_and_keeps_float32():
    Z, gamma, beta, _ = _case(8, 3, 5)
    args = [a.astype(np.float32) for a in (Z, gamma, beta, np.ones((3, 1)), np.ones((3, 1)))]
    copies = [a.copy() for a in args]
    out = batchnorm.batchnorm_inference(*args)
    assert out.dtype == np.float32
    assert all(np.array_equal(a, c) for a, c in zip(args, copies))
    zero_var = batchnorm.batchnorm_inference(Z, gamma, beta, np.zeros((3, 1)), np.zeros((3, 1)))
    assert np.all(np.isfinite(zero_var))


@pytest.mark.parametrize("change, exc, words", [
    (dict(Z=np.arange(3.0)), ValueError, "Z must have 2 dimension"),
    (dict(Z=np.full((2, 3), np.inf)), ValueError, "Z must be finite"),
    (dict(gamma=np.ones((3, 1))), ValueError, r"gamma must have shape \(2, 1\)"),
    (dict(beta=np.ones(2)), ValueError, r"beta must have shape \(2, 1\)"),
    (dict(running_mean=np.zeros((1, 2))), ValueError, r"running_mean must have shape \(2, 1\)"),
    (dict(running_var=-np.ones((2, 1))), ValueError, "running_var must be >= 0"),
    (dict(running_var=np.array([[np.nan], [1.0]])), ValueError, "running_var must be finite"),
    (dict(eps=0.0), ValueError, "eps must be > 0"),
    (dict(running_mean="0"), TypeError, "running_mean must be an array"),
])
def test_batchnorm_inference_bad_input(change, exc, words):
    args = dict(Z=Z_OK, gamma=ONES, beta=ZEROS, running_mean=np.zeros((2, 1)),
                running_var=np.ones((2, 1)), eps=1e-5)
    args.update(change)
    with pytest.raises(exc, match=words):
        batchnorm.batchnorm_inference(**args)


def test_batchnorm_layer_training_mode_normalizes_and_updates_unbiased():
    Z, _, _, _ = _case(9, 3, 8)
    layer = batchnorm.BatchNorm(3, decay=0.8)
    assert np.all(layer.running_mean == 0) and np.all(layer.running_var == 1)
    assert layer.training and layer.n_updates == 0 and layer.batch_mean is None
    out, cache = layer.forward(Z)
    assert np.allclose(out, batchnorm.batchnorm_forward(Z, layer.gamma, layer.beta)[0], rtol=1e-14)
    mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
    assert np.allclose(layer.running_mean, 0.2 * mu, rtol=1e-14)
    assert np.allclose(layer.running_var, 0.8 + 0.2 * var * 8 / 7, rtol=1e-14)  # unbiased
    assert np.allclose(layer.running_var, 0.8 + 0.2 * Z.var(axis=1, ddof=1, keepdims=True))
    assert layer.n_updates == 1 and np.allclose(layer.batch_var, var)
    layer.forward(Z)
    assert np.allclose(layer.running_mean, (0.8 * 0.2 + 0.2) * mu, rtol=1e-14)
    with pytest.raises(ValueError, match="at least 2 examples"):
        layer.forward(Z[:, :1])


def test_batchnorm_layer_evaluation_mode_changes_nothing():
    Z, _, _, _ = _case(10, 3, 8)
    layer = batchnorm.BatchNorm(3)
    for _ in range(5):
        layer.forward(Z + 1.0)
    state = (layer.running_mean.copy(), layer.running_var.copy(), layer.n_updates)
    assert layer.eval() is layer and not layer.training
    out, _ = layer.forward(Z)
    want = batchnorm.batchnorm_inference(Z, layer.gamma, layer.beta, layer.running_mean,
                                  layer.running_var, layer.eps)
    assert np.allclose(out, want, rtol=1e-14)
    one, _ = layer.forward(Z[:, [2]])                        # a batch of one works
    assert np.allclose(one, out[:, [2]], rtol=1e-14)
    assert np.array_equal(layer.running_mean, state[0])
    assert np.array_equal(layer.running_var, state[1]) and layer.n_updates == state[2]
    assert layer.train() is layer and layer.training
    assert "training mode, 5 updates" in repr(layer)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_layer_backward_matches_numerical_gradient(training):
    Z, _, _, rng = _case(11, 3, 6)
    layer = batchnorm.BatchNorm(3)
    layer.gamma, layer.beta = rng.uniform(0.5, 2, (3, 1)), rng.standard_normal((3, 1))
    layer.running_mean, layer.running_var = rng.standard_normal((3, 1)), rng.uniform(1, 2, (3, 1))
    layer.train(training)
    G = rng.standard_normal(Z.shape)
    _, cache = layer.forward(Z)
    dZ, dgamma, dbeta = layer.backward(G, cache)

    def cost(Zx):
        saved = (layer.running_mean.copy(), layer.running_var.copy())
        out = float(np.sum(G * layer.forward(Zx)[0]))
        layer.running_mean, layer.running_var = saved
        return out

    assert relative_error(dZ, numerical_gradient(cost, Z.copy())) < 1e-7
    assert dgamma.shape == dbeta.shape == (3, 1)
    assert np.allclose(dbeta, G.sum(axis=1, keepdims=True))


def test_batchnorm_layer_bad_input():
    with pytest.raises(ValueError, match="decay must be < 1"):
        batchnorm.BatchNorm(3, decay=1.0)
    with pytest.raises(ValueError, match="n_units must be >= 1"):
        batchnorm.BatchNorm(0)
    with pytest.raises(ValueError, match="eps must be > 0"):
        batchnorm.BatchNorm(2, eps=0)
    layer = batchnorm.BatchNorm(2)
    with pytest.raises(TypeError, match="mode must be True or False"):
        layer.train("eval")
    with pytest.raises(ValueError, match=r"Z must have shape \(2, m\)"):
        layer.forward(np.ones((3, 4)))
    _, cache = layer.forward(Z_OK)
    with pytest.raises(ValueError, match="dZ_tilde must have the shape of Z"):
        layer.backward(np.ones((2, 2)), cache)
    with pytest.raises(TypeError, match="cache must be what BatchNorm.forward returned"):
        layer.backward(np.ones((2, 3)), (1, 2))


def test_fold_batchnorm_equals_inference_batch_norm():
    rng = np.random.default_rng(6)
    W, b, A = rng.standard_normal((4, 3)), rng.standard_normal((4, 1)), rng.standard_normal((3, 9))
    gamma, beta = rng.uniform(0.5, 2, (4, 1)), rng.standard_normal((4, 1))
    mean, var = rng.standard_normal((4, 1)), rng.uniform(0.1, 3, (4, 1))
    want = batchnorm_inference(W @ A + b, gamma, beta, mean, var, 1e-3)
    Wf, bf = fold_batchnorm(W, b, gamma, beta, mean, var, 1e-3)
    assert Wf.shape == W.shape and bf.shape == (4, 1)
    assert np.allclose(Wf @ A + bf, want, rtol=1e-12, atol=1e-12)
    Wf0, bf0 = fold_batchnorm(W, None, gamma, beta, mean, var, 1e-3)
    assert np.allclose(Wf0 @ A + bf0,
                       batchnorm_inference(W @ A, gamma, beta, mean, var, 1e-3), atol=1e-12)


def test_fold_batchnorm_is_a_stand_in_that_measures_and_agrees_with_the_reference():
    """lessonlib's fold is exercise 4.2's labelled stand-in: it measures the affine map on
    the zero vector and the basis vectors (no square root of its own: the formula is the
    instructor side's) and agrees with the reference to round-off, float32 included."""
    import inspect
    assert fold_batchnorm.exercises == ("4.2",) and "measures" in fold_batchnorm.whose
    assert "sqrt" not in inspect.getsource(fold_batchnorm.__wrapped__)
    rng = np.random.default_rng(7)
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        W = rng.standard_normal((6, 5)).astype(dtype)
        cols = [rng.normal(0, 2, (6, 1)).astype(dtype) for _ in range(4)]
        b, gamma, beta, mean = cols
        var = np.array([[1e-9], [0.0], [0.5], [2.0], [4.0], [1.0]], dtype=dtype)
        got = fold_batchnorm(W, b, gamma, beta, mean, var, 1e-4)
        want = answers.fold_batchnorm(W, b, gamma, beta, mean, var, 1e-4)
        assert got[0].dtype == dtype
        for g, w in zip(got, want):
            assert np.allclose(g, w, rtol=tol, atol=tol * np.abs(w).max())


@pytest.mark.parametrize("change, exc, words", [
    (dict(W=np.ones(4)), ValueError, "W must have 2 dimension"),
    (dict(b=np.ones((3, 1))), ValueError, r"b must have shape \(4, 1\)"),
    (dict(gamma=np.ones((4,))), ValueError, r"gamma must have shape \(4, 1\)"),
    (dict(running_mean=np.full((4, 1), np.nan)), ValueError, "running_mean must be finite"),
    (dict(running_var=-np.ones((4, 1))), ValueError, "running_var must be >= 0"),
    (dict(eps=0), ValueError, "eps must be > 0"),
    (dict(beta="0"), TypeError, "beta must be an array"),
])
def test_fold_batchnorm_bad_input(change, exc, words):
    args = dict(W=np.ones((4, 3)), b=None, gamma=np.ones((4, 1)), beta=np.zeros((4, 1)),
                running_mean=np.zeros((4, 1)), running_var=np.ones((4, 1)), eps=1e-5)
    args.update(change)
    with pytest.raises(exc, match=words):
        fold_batchnorm(**args)


def test_the_layer_runs_given_functions_in_training_mode_only():
    calls = []

    def forward(Z, gamma, beta, eps):
        calls.append("forward")
        return batchnorm.batchnorm_forward(Z, gamma, beta, eps)

    def backward(dZ_tilde, cache):
        calls.append("backward")
        return batchnorm.batchnorm_backward_by_autodiff(dZ_tilde, cache)

    Z = np.random.default_rng(0).standard_normal((3, 5))
    plain, mine = batchnorm.BatchNorm(3), batchnorm.BatchNorm(3, functions=(forward, backward))
    a, ca = plain.forward(Z)
    b, cb = mine.forward(Z)
    assert np.array_equal(a, b) and calls == ["forward"]
    assert np.array_equal(mine.running_var, plain.running_var) and mine.n_updates == 1
    assert all(np.array_equal(x, y) for x, y in zip(plain.backward(Z, ca), mine.backward(Z, cb)))
    assert calls == ["forward", "backward"]
    mine.eval().forward(Z[:, :1])                     # evaluation mode: lessonlib's
    assert calls == ["forward", "backward"]
    with pytest.raises(TypeError, match="functions must be None or a pair"):
        batchnorm.BatchNorm(3, functions=forward)
