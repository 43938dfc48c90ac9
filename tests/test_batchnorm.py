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
