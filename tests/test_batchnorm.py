"""lessonlib.batchnorm: forward, backward, validation and the notebook's helpers."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessonlib import batchnorm as bn  # noqa: E402
from lessonlib.gradcheck import numerical_gradient, relative_error  # noqa: E402


def _case(seed=0, n=4, m=10):
    rng = np.random.default_rng(seed)
    Z = rng.uniform(0.5, 3, (n, 1)) * rng.standard_normal((n, m)) + rng.normal(0, 4, (n, 1))
    return Z, rng.uniform(0.5, 2, (n, 1)), rng.standard_normal((n, 1)), rng


def test_forward_normalizes_each_unit_over_examples():
    Z, _, _, _ = _case()
    out, cache = bn.batchnorm_forward(Z, np.ones((4, 1)), np.zeros((4, 1)), eps=1e-5)
    assert out.shape == Z.shape
    assert np.allclose(out.mean(axis=1), 0, atol=1e-12)
    var = Z.var(axis=1)                            # biased
    assert np.allclose(out.var(axis=1), var / (var + 1e-5), rtol=1e-12)
    assert np.allclose(cache.mu[:, 0], Z.mean(axis=1))
    assert np.allclose(cache.var[:, 0], var)
    assert cache.mu.shape == cache.var.shape == (4, 1)


def test_forward_gamma_beta_and_cache_tuple():
    Z, gamma, beta, _ = _case(1)
    out, cache = bn.batchnorm_forward(Z, gamma, beta, eps=0.1)
    Z_hat = (Z - Z.mean(1, keepdims=True)) / np.sqrt(Z.var(1, keepdims=True) + 0.1)
    assert np.allclose(out, gamma * Z_hat + beta)
    Zc, Z_hat_c, mu, var, g, eps = cache           # unpacks as the documented tuple
    assert Zc is Z and np.allclose(Z_hat_c, Z_hat) and g is gamma and eps == 0.1
    assert isinstance(cache, tuple) and len(cache) == 6


def test_forward_does_not_modify_inputs_and_keeps_float32():
    Z, gamma, beta, _ = _case(2)
    Z32, g32, b32 = (a.astype(np.float32) for a in (Z, gamma, beta))
    copies = [a.copy() for a in (Z32, g32, b32)]
    out, _ = bn.batchnorm_forward(Z32, g32, b32)
    assert out.dtype == np.float32
    assert all(np.array_equal(a, c) for a, c in zip((Z32, g32, b32), copies))


def test_constant_unit_gives_beta():
    Z = np.vstack([np.full(5, 3.0), np.arange(5.0)])
    out, _ = bn.batchnorm_forward(Z, np.ones((2, 1)), np.array([[7.0], [0.0]]))
    assert np.allclose(out[0], 7.0)


@pytest.mark.parametrize("seed, n, m, eps", [(0, 4, 10, 1e-5), (1, 1, 3, 1e-3),
                                             (2, 3, 40, 0.5), (3, 6, 2, 1e-2)])
def test_backward_matches_numerical_gradient(seed, n, m, eps):
    Z, gamma, beta, rng = _case(seed, n, m)
    G = rng.standard_normal((n, m)) + rng.standard_normal((n, 1))
    _, cache = bn.batchnorm_forward(Z, gamma, beta, eps)
    dZ, dgamma, dbeta = bn.batchnorm_backward(G, cache)

    def cost(Zx, gx, bx):
        return float(np.sum(G * bn.batchnorm_forward(Zx, gx, bx, eps)[0]))

    assert relative_error(dZ, numerical_gradient(lambda x: cost(x, gamma, beta), Z)) < 1e-7
    assert relative_error(dgamma,
                          numerical_gradient(lambda x: cost(Z, x, beta), gamma)) < 1e-7
    assert relative_error(dbeta, numerical_gradient(lambda x: cost(Z, gamma, x), beta)) < 1e-7
    assert dgamma.shape == dbeta.shape == (n, 1)
    assert np.allclose(dZ.sum(axis=1), 0, atol=1e-10)   # a shift of Z changes nothing


def test_backward_accepts_a_plain_tuple_and_float32():
    Z, gamma, beta, rng = _case(4)
    G = rng.standard_normal(Z.shape)
    _, cache = bn.batchnorm_forward(Z, gamma, beta)
    a = bn.batchnorm_backward(G, cache)
    b = bn.batchnorm_backward(G, tuple(cache))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    _, c32 = bn.batchnorm_forward(Z.astype(np.float32), gamma.astype(np.float32),
                                  beta.astype(np.float32))
    d32 = bn.batchnorm_backward(G.astype(np.float32), c32)
    assert d32[0].dtype == np.float32
    assert np.allclose(d32[0], a[0], rtol=1e-3, atol=1e-4)


def test_backward_is_vectorized_on_a_large_batch():
    rng = np.random.default_rng(5)
    Z = rng.standard_normal((256, 4096))
    _, cache = bn.batchnorm_forward(Z, np.ones((256, 1)), np.zeros((256, 1)))
    dZ, _, _ = bn.batchnorm_backward(rng.standard_normal(Z.shape), cache)
    assert dZ.shape == Z.shape


def test_recover_gamma_beta_gives_z_back():
    Z, _, _, _ = _case(6, 5, 30)
    for eps in (1e-8, 1e-5, 0.5):
        gamma, beta = bn.recover_gamma_beta(Z, eps)
        assert gamma.shape == beta.shape == (5, 1)
        assert np.allclose(bn.batchnorm_forward(Z, gamma, beta, eps)[0], Z, rtol=1e-12,
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
        bn.batchnorm_forward(*args)


def test_backward_bad_input():
    _, cache = bn.batchnorm_forward(Z_OK, ONES, ZEROS)
    with pytest.raises(ValueError, match=r"dZ_tilde must have the shape of Z, \(2, 3\)"):
        bn.batchnorm_backward(np.ones((3, 2)), cache)
    with pytest.raises(ValueError, match="dZ_tilde must be finite"):
        bn.batchnorm_backward(np.full((2, 3), np.nan), cache)
    with pytest.raises(TypeError, match="cache must be the 6-tuple"):
        bn.batchnorm_backward(np.ones((2, 3)), cache[:4])
    with pytest.raises(TypeError, match="cache"):
        bn.batchnorm_backward(np.ones((2, 3)), {"Z": Z_OK})
    with pytest.raises(ValueError, match="var must be >= 0"):
        bn.batchnorm_backward(np.ones((2, 3)), cache._replace(var=-np.ones((2, 1))))


def test_recover_bad_input():
    with pytest.raises(ValueError, match="at least 2 examples"):
        bn.recover_gamma_beta(np.ones((3, 1)))
    with pytest.raises(ValueError, match="eps"):
        bn.recover_gamma_beta(Z_OK, -1.0)


def test_gradcheck_report_reference_and_fallback():
    report = bn.gradcheck_report(bn.batchnorm_forward, bn.batchnorm_backward,
                                 rng=np.random.default_rng(0))
    assert report.startswith("your batchnorm_forward") and "correct" in report

    def stub(*a):
        raise NotImplementedError

    fallback = bn.gradcheck_report(stub, stub, rng=np.random.default_rng(0))
    assert "reference" in fallback and "correct" in fallback

    def wrong_backward(dZt, cache):
        dZ, dg, db = bn.batchnorm_backward(dZt, cache)
        return dZ * 1.01, dg, db

    bad = bn.gradcheck_report(bn.batchnorm_forward, wrong_backward,
                              rng=np.random.default_rng(0))
    assert "check your formula" in bad

    def crashes(*a):
        raise ValueError("boom")

    assert "could not run" in bn.gradcheck_report(crashes, crashes,
                                                  rng=np.random.default_rng(0))


def test_unit_batch_is_pure_and_follows_gamma_beta():
    a = bn.unit_batch(2.0, -1.0, 500, rng=np.random.default_rng(3))
    b = bn.unit_batch(2.0, -1.0, 500, rng=np.random.default_rng(3))
    assert np.array_equal(a["z_tilde"], b["z_tilde"])
    assert a["z"].shape == a["z_tilde"].shape == (500,)
    assert a["mean"] == pytest.approx(-1.0, abs=1e-9)
    assert a["std"] == pytest.approx(2.0, rel=1e-5)
    assert a["batch_mean"] == pytest.approx(3.0, abs=0.3)
    neg = bn.unit_batch(-1.0, 0.0, 50, rng=np.random.default_rng(3))
    assert neg["std"] == pytest.approx(1.0, rel=1e-4)
    with pytest.raises(ValueError, match="batch_size"):
        bn.unit_batch(1.0, 0.0, 1, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        bn.unit_batch(1.0, 0.0, 10, rng=0)


def test_plots_return_axes():
    batch = bn.unit_batch(1.0, 0.0, 64, rng=np.random.default_rng(0))
    assert isinstance(bn.plot_unit_batch(batch), plt.Axes)
    run = {"steps": np.arange(0, 50, 10), "val_acc": np.linspace(0.1, 0.9, 5),
           "percentiles": np.tile([-1.0, 0.0, 1.0], (5, 1)), "batch_norm": True}
    assert isinstance(bn.plot_accuracy_curves([run, {**run, "batch_norm": False}],
                                              target=0.9), plt.Axes)
    fig, ax = plt.subplots()
    assert bn.plot_percentiles(run, ax=ax) is ax
    assert isinstance(bn.plot_learning_rate_sweep([0.1, 1.0], {"without": [0.2, 0.3],
                                                               "with": [0.8, 0.9]}),
                      plt.Axes)
    noise = bn.batch_stat_noise(np.random.default_rng(0).standard_normal(300), [4, 16],
                                n_batches=50, rng=np.random.default_rng(1))
    assert isinstance(bn.plot_batch_stat_noise(noise), plt.Axes)
    plt.close("all")


def test_widget_builds():
    widget = bn.normalization_widget(seed=0)
    sliders = [w for w in widget.children[0].children]
    assert [s.description for s in sliders] == ["gamma", "beta", "batch size"]
    sliders[2].value = 10                           # redraws without error
    plt.close("all")


def test_steps_to_accuracy():
    steps, acc = np.array([0, 10, 20, 30]), np.array([0.1, 0.5, 0.92, 0.95])
    assert bn.steps_to_accuracy(steps, acc, 0.9) == 20
    assert bn.steps_to_accuracy(steps, acc, 0.99) is None
    with pytest.raises(ValueError, match="same shape"):
        bn.steps_to_accuracy(steps, acc[:2], 0.9)


def test_batch_stat_noise_follows_one_over_sqrt_m():
    values = np.random.default_rng(0).standard_normal(5000)
    noise = bn.batch_stat_noise(values, [4, 16, 64], n_batches=800,
                                rng=np.random.default_rng(1))
    assert np.all(np.diff(noise["mean_noise"]) < 0)
    assert np.allclose(noise["mean_noise"], noise["mean_line"], rtol=0.15)
    assert np.allclose(noise["var_noise"], noise["var_line"], rtol=0.25)
    with pytest.raises(ValueError, match=r"batch_sizes\[1\]"):
        bn.batch_stat_noise(values, [4, 1], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="variance is 0"):
        bn.batch_stat_noise(np.ones(10), [4], rng=np.random.default_rng(0))


def test_figure1_run_is_deterministic_and_records():
    kw = dict(steps=40, learning_rate=0.5, hidden=(20, 20), record_every=10)
    a = bn.figure1_run(batch_norm=True, rng=np.random.default_rng(0), **kw)
    b = bn.figure1_run(batch_norm=True, rng=np.random.default_rng(0), **kw)
    assert np.array_equal(a["val_acc"], b["val_acc"])
    assert list(a["steps"]) == [0, 10, 20, 30, 40]
    assert a["percentiles"].shape == (5, 3) and len(a["cost"]) == 40
    assert np.all(np.diff(a["percentiles"], axis=1) >= 0)   # 15th <= 50th <= 85th


def test_compare_batch_norm_same_start_and_batches():
    runs = bn.compare_batch_norm(steps=30, learning_rate=0.5, hidden=(20, 20),
                                 record_every=10, rng=np.random.default_rng(1))
    assert set(runs) == {"without", "with"}
    assert not runs["without"]["batch_norm"] and runs["with"]["batch_norm"]
    # the same weights and batches: the first cost is computed before any update and
    # differs only through batch norm; without batch norm it equals a fresh run's
    again = bn.compare_batch_norm(steps=30, learning_rate=0.5, hidden=(20, 20),
                                  record_every=10, rng=np.random.default_rng(1))
    assert np.array_equal(runs["with"]["cost"], again["with"]["cost"])


def test_learning_rate_sweep_shapes_and_divergence():
    acc = bn.learning_rate_sweep([0.5, 1e6], epochs=1, hidden=(10,),
                                 rng=np.random.default_rng(0))
    assert acc["without"].shape == acc["with"].shape == (2,)
    assert all(np.all((0 <= a) & (a <= 1)) for a in acc.values())
    with pytest.raises(ValueError, match="learning_rates"):
        bn.learning_rate_sweep([0.0], epochs=1, rng=np.random.default_rng(0))


# ------------------------------------------------------------------ test time (notebook 04)

def _stats(seed=0, n=4):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 1)), rng.uniform(0.5, 2, (n, 1)),
            rng.normal(3, 1, (n, 1)), rng.uniform(1, 4, (n, 1)))


def test_update_running_stats_is_the_ema_step_and_returns_new_arrays():
    rm, rv, mu, var = _stats()
    copies = [a.copy() for a in (rm, rv, mu, var)]
    new_m, new_v = bn.update_running_stats(rm, rv, mu, var, 0.9)
    assert np.allclose(new_m, 0.9 * rm + 0.1 * mu, rtol=1e-15)
    assert np.allclose(new_v, 0.9 * rv + 0.1 * var, rtol=1e-15)
    assert all(np.array_equal(a, c) for a, c in zip((rm, rv, mu, var), copies))
    assert new_m is not rm and new_v is not rv
    m0, v0 = bn.update_running_stats(rm, rv, mu, var, 0.0)       # decay 0: the batch only
    assert np.array_equal(m0, mu) and np.array_equal(v0, var)


def test_update_running_stats_follows_the_closed_form_over_many_steps():
    rng = np.random.default_rng(1)
    T, d = 400, 0.97
    mus = rng.normal(2.0, 1.0, (T, 3, 1))
    rm, rv = np.zeros((3, 1)), np.ones((3, 1))
    for t in range(T):
        rm, rv = bn.update_running_stats(rm, rv, mus[t], mus[t] ** 2, d)
    weights = (1 - d) * d ** np.arange(T - 1, -1, -1)
    assert np.allclose(rm, np.einsum("t,tnk->nk", weights, mus), rtol=1e-12)
    assert np.allclose(rv, d ** T + np.einsum("t,tnk->nk", weights, mus ** 2), rtol=1e-12)
    assert np.allclose(rm[:, 0], bn.ema(mus[:, :, 0], d)[-1], rtol=1e-12)


def test_update_running_stats_keeps_float32():
    out = bn.update_running_stats(*(a.astype(np.float32) for a in _stats(2)), 0.9)
    assert all(a.dtype == np.float32 for a in out)


RM, RV, MU, VAR = _stats(3, n=2)


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
        bn.update_running_stats(*args)


def test_batchnorm_inference_uses_running_statistics_column_by_column():
    Z, gamma, beta, _ = _case(7, 3, 12)
    rm, rv = np.array([[1.0], [-2.0], [0.5]]), np.array([[4.0], [0.25], [1.0]])
    out = bn.batchnorm_inference(Z, gamma, beta, rm, rv, eps=1e-3)
    assert np.allclose(out, gamma * (Z - rm) / np.sqrt(rv + 1e-3) + beta, rtol=1e-14)
    one = bn.batchnorm_inference(Z[:, [4]], gamma, beta, rm, rv, eps=1e-3)   # a batch of one
    assert one.shape == (3, 1) and np.allclose(one, out[:, [4]], rtol=1e-14)
    parts = np.hstack([bn.batchnorm_inference(Z[:, s], gamma, beta, rm, rv, eps=1e-3)
                       for s in (slice(0, 5), slice(5, 12))])
    assert np.allclose(parts, out, rtol=1e-14)
    assert not np.allclose(out, bn.batchnorm_forward(Z, gamma, beta, 1e-3)[0])


def test_batchnorm_inference_leaves_inputs_and_keeps_float32():
    Z, gamma, beta, _ = _case(8, 3, 5)
    args = [a.astype(np.float32) for a in (Z, gamma, beta, np.ones((3, 1)), np.ones((3, 1)))]
    copies = [a.copy() for a in args]
    out = bn.batchnorm_inference(*args)
    assert out.dtype == np.float32
    assert all(np.array_equal(a, c) for a, c in zip(args, copies))
    zero_var = bn.batchnorm_inference(Z, gamma, beta, np.zeros((3, 1)), np.zeros((3, 1)))
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
        bn.batchnorm_inference(**args)


def test_batchnorm_layer_training_mode_normalizes_and_updates_unbiased():
    Z, _, _, _ = _case(9, 3, 8)
    layer = bn.BatchNorm(3, decay=0.8)
    assert np.all(layer.running_mean == 0) and np.all(layer.running_var == 1)
    assert layer.training and layer.n_updates == 0 and layer.batch_mean is None
    out, cache = layer.forward(Z)
    assert np.allclose(out, bn.batchnorm_forward(Z, layer.gamma, layer.beta)[0], rtol=1e-14)
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
    layer = bn.BatchNorm(3)
    for _ in range(5):
        layer.forward(Z + 1.0)
    state = (layer.running_mean.copy(), layer.running_var.copy(), layer.n_updates)
    assert layer.eval() is layer and not layer.training
    out, _ = layer.forward(Z)
    want = bn.batchnorm_inference(Z, layer.gamma, layer.beta, layer.running_mean,
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
    layer = bn.BatchNorm(3)
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
        bn.BatchNorm(3, decay=1.0)
    with pytest.raises(ValueError, match="n_units must be >= 1"):
        bn.BatchNorm(0)
    with pytest.raises(ValueError, match="eps must be > 0"):
        bn.BatchNorm(2, eps=0)
    layer = bn.BatchNorm(2)
    with pytest.raises(TypeError, match="mode must be True or False"):
        layer.train("eval")
    with pytest.raises(ValueError, match=r"Z must have shape \(2, m\)"):
        layer.forward(np.ones((3, 4)))
    _, cache = layer.forward(Z_OK)
    with pytest.raises(ValueError, match="dZ_tilde must have the shape of Z"):
        layer.backward(np.ones((2, 2)), cache)
    with pytest.raises(TypeError, match="cache must be what BatchNorm.forward returned"):
        layer.backward(np.ones((2, 3)), (1, 2))


def test_ema_and_its_bias_correction():
    values = np.array([4.0, 4.0, 4.0, 4.0])
    raw = bn.ema(values, 0.5)
    assert np.allclose(raw, [2.0, 3.0, 3.5, 3.75])
    assert np.allclose(bn.ema(values, 0.5, bias_correction=True), 4.0)   # no start-up bias
    assert np.allclose(bn.ema(values, 0.5, initial=1.0, bias_correction=True), 4.0)
    assert np.allclose(bn.ema(values, 0.0), values)
    rng = np.random.default_rng(12)
    seq = rng.standard_normal((50, 3))
    t = np.arange(1, 51)[:, None]
    assert np.allclose(bn.ema(seq, 0.9, bias_correction=True), bn.ema(seq, 0.9) / (1 - 0.9 ** t))
    with pytest.raises(ValueError, match="decay must be < 1"):
        bn.ema(values, 1.0)
    with pytest.raises(ValueError, match="values must be a sequence"):
        bn.ema(3.0, 0.5)
    with pytest.raises(ValueError, match="initial must be a number or match"):
        bn.ema(seq, 0.5, initial=np.zeros(4))


def test_follow_batch_means_lag_noise_and_error():
    rng = np.random.default_rng(13)
    noise = rng.standard_normal(20000)
    trace = bn.follow_batch_means(noise, 0.9, population=np.zeros(20000))
    assert trace["lag"] == pytest.approx(9.0)
    assert trace["noise"] == pytest.approx(np.sqrt(0.1 / 1.9))
    assert trace["rms_error"] == pytest.approx(trace["noise"], rel=0.05)  # iid noise: matches
    assert np.array_equal(trace["running"], bn.ema(noise, 0.9))
    assert bn.follow_batch_means(noise[:10], 0.5)["rms_error"] is None
    ramp = np.linspace(0, 10, 200)                               # a moving target, no noise
    lagging = bn.follow_batch_means(ramp, 0.9, population=ramp)
    assert lagging["rms_error"] == pytest.approx(9 * (ramp[1] - ramp[0]), rel=0.01)
    with pytest.raises(ValueError, match="population must have the shape of batch_means"):
        bn.follow_batch_means(noise[:10], 0.5, population=np.zeros(9))


def test_statistics_gap():
    a = {1: (np.zeros((2, 1)), np.ones((2, 1))), 2: (np.ones((1, 1)), 4 * np.ones((1, 1)))}
    assert bn.statistics_gap(a, a) == (0.0, 0.0)
    b = {1: (np.ones((2, 1)), np.full((2, 1), 2.0)), 2: a[2]}
    mean_gap, var_gap = bn.statistics_gap(b, a, eps=0.0)
    assert mean_gap == pytest.approx(2 / 3) and var_gap == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="same batch-norm layers"):
        bn.statistics_gap(a, {1: a[1]})


def test_track_statistics_records_and_is_deterministic():
    runs = [bn.track_statistics(hidden=(8,), epochs=2, batch_size=64, record_every=4,
                                rng=np.random.default_rng(3)) for _ in range(2)]
    tr = runs[0]
    T = len(tr["batch_mean"])
    assert T == 2 * -(-1079 // 64) and len(tr["running_mean"]) == len(tr["population_mean"]) == T
    assert tr["steps"][0] == 0 and np.all(np.diff(tr["steps"]) == 4)
    assert np.allclose(tr["running_mean"], bn.ema(tr["batch_mean"], 0.9), rtol=1e-12)
    assert tr["mean_gap"][-1] < tr["mean_gap"][0]
    assert np.all((0 <= tr["acc_running"]) & (tr["acc_running"] <= 1))
    for key in ("batch_mean", "mean_gap", "acc_population"):
        assert np.array_equal(tr[key], runs[1][key])
    assert tr["net"].has_running_stats and 0 <= tr["unit"] < 8


def test_accuracy_by_statistics_and_predictions_in_batches():
    from lessonlib.data import load_digits
    d = load_digits()
    net = bn.track_statistics(hidden=(16,), epochs=3, batch_size=32, record_every=1000,
                              rng=np.random.default_rng(0))["net"]
    before = net.running_statistics()
    acc = bn.accuracy_by_statistics(net, d.train.X, d.test.X, d.test.y, batch_size=32,
                                    test_batch_sizes=(2, 64), rng=np.random.default_rng(1))
    assert list(acc) == ["running averages", "population statistics", "test batches of 2",
                         "test batches of 64"]
    assert acc["running averages"] > 0.8 and acc["test batches of 2"] < acc["running averages"]
    after = net.running_statistics()
    assert all(np.array_equal(before[k][i], after[k][i]) for k in before for i in (0, 1))
    x = d.test.X[:, [0]]
    comps = [d.test.X[:, 1:4], d.test.X[:, 10:20]]
    p_eval = bn.predictions_in_batches(net, x, comps, training=False)
    p_train = bn.predictions_in_batches(net, x, comps, training=True)
    assert p_eval.shape == (2, 10) and np.allclose(p_eval[0], p_eval[1], atol=1e-12)
    assert not np.allclose(p_train[0], p_train[1])
    with pytest.raises(ValueError, match=r"x must be one example of shape \(n_x, 1\)"):
        bn.predictions_in_batches(net, d.test.X[:, :2], comps, training=False)
    with pytest.raises(TypeError, match="companions must be a non-empty list"):
        bn.predictions_in_batches(net, x, [], training=False)


def test_notebook04_plots_and_widget():
    rng = np.random.default_rng(14)
    trace = bn.follow_batch_means(rng.standard_normal(60), 0.8, population=np.zeros(60))
    assert isinstance(bn.plot_running_mean(trace), plt.Axes)
    track = {"steps": np.arange(0, 50, 10), "mean_gap": np.linspace(1, 0.1, 5),
             "var_gap": np.linspace(2, 0.1, 5), "decay": 0.9}
    fig, ax = plt.subplots()
    assert bn.plot_statistics_gap(track, ax=ax) is ax
    widget = bn.decay_widget(rng.standard_normal(60), np.zeros(60))
    slider, box = widget.children[0].children
    assert slider.description == "decay" and slider.value == 0.9
    slider.value = 0.5                                       # redraws without error
    box.value = True
    plt.close("all")
