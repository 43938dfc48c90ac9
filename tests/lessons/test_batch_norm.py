"""lessonlib.lessons.batch_norm: notebook 03's gradient check, widget logic and experiments."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessonlib.layers import batchnorm  # noqa: E402
from lessonlib.lessons import batch_norm as lesson  # noqa: E402


def test_gradcheck_report_reference_and_fallback():
    report = lesson.gradcheck_report(batchnorm.batchnorm_forward, batchnorm.batchnorm_backward,
                                 rng=np.random.default_rng(0))
    assert report.startswith("your batchnorm_forward") and "correct" in report

    def stub(*a):
        raise NotImplementedError

    fallback = lesson.gradcheck_report(stub, stub, rng=np.random.default_rng(0))
    assert "reference" in fallback and "correct" in fallback

    def wrong_backward(dZt, cache):
        dZ, dg, db = batchnorm.batchnorm_backward(dZt, cache)
        return dZ * 1.01, dg, db

    bad = lesson.gradcheck_report(batchnorm.batchnorm_forward, wrong_backward,
                              rng=np.random.default_rng(0))
    assert "check your formula" in bad

    def crashes(*a):
        raise ValueError("boom")

    assert "could not run" in lesson.gradcheck_report(crashes, crashes,
                                                  rng=np.random.default_rng(0))


def test_unit_batch_is_pure_and_follows_gamma_beta():
    a = lesson.unit_batch(2.0, -1.0, 500, rng=np.random.default_rng(3))
    b = lesson.unit_batch(2.0, -1.0, 500, rng=np.random.default_rng(3))
    assert np.array_equal(a["z_tilde"], b["z_tilde"])
    assert a["z"].shape == a["z_tilde"].shape == (500,)
    assert a["mean"] == pytest.approx(-1.0, abs=1e-9)
    assert a["std"] == pytest.approx(2.0, rel=1e-5)
    assert a["batch_mean"] == pytest.approx(3.0, abs=0.3)
    neg = lesson.unit_batch(-1.0, 0.0, 50, rng=np.random.default_rng(3))
    assert neg["std"] == pytest.approx(1.0, rel=1e-4)
    with pytest.raises(ValueError, match="batch_size"):
        lesson.unit_batch(1.0, 0.0, 1, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        lesson.unit_batch(1.0, 0.0, 10, rng=0)


def test_plots_return_axes():
    batch = lesson.unit_batch(1.0, 0.0, 64, rng=np.random.default_rng(0))
    assert isinstance(lesson.plot_unit_batch(batch), plt.Axes)
    run = {"steps": np.arange(0, 50, 10), "val_acc": np.linspace(0.1, 0.9, 5),
           "percentiles": np.tile([-1.0, 0.0, 1.0], (5, 1)), "batch_norm": True}
    assert isinstance(lesson.plot_accuracy_curves([run, {**run, "batch_norm": False}],
                                              target=0.9), plt.Axes)
    fig, ax = plt.subplots()
    assert lesson.plot_percentiles(run, ax=ax) is ax
    assert isinstance(lesson.plot_learning_rate_sweep([0.1, 1.0], {"without": [0.2, 0.3],
                                                               "with": [0.8, 0.9]}),
                      plt.Axes)
    noise = lesson.batch_stat_noise(np.random.default_rng(0).standard_normal(300), [4, 16],
                                n_batches=50, rng=np.random.default_rng(1))
    assert isinstance(lesson.plot_batch_stat_noise(noise), plt.Axes)
    plt.close("all")


def test_widget_builds():
    widget = lesson.normalization_widget(seed=0)
    sliders = [w for w in widget.children[0].children]
    assert [s.description for s in sliders] == ["gamma", "beta", "batch size"]
    sliders[2].value = 10                           # redraws without error
    plt.close("all")


def test_steps_to_accuracy():
    steps, acc = np.array([0, 10, 20, 30]), np.array([0.1, 0.5, 0.92, 0.95])
    assert lesson.steps_to_accuracy(steps, acc, 0.9) == 20
    assert lesson.steps_to_accuracy(steps, acc, 0.99) is None
    with pytest.raises(ValueError, match="same shape"):
        lesson.steps_to_accuracy(steps, acc[:2], 0.9)


def test_batch_stat_noise_follows_one_over_sqrt_m():
    values = np.random.default_rng(0).standard_normal(5000)
    noise = lesson.batch_stat_noise(values, [4, 16, 64], n_batches=800,
                                rng=np.random.default_rng(1))
    assert np.all(np.diff(noise["mean_noise"]) < 0)
    assert np.allclose(noise["mean_noise"], noise["mean_line"], rtol=0.15)
    assert np.allclose(noise["var_noise"], noise["var_line"], rtol=0.25)
    with pytest.raises(ValueError, match=r"batch_sizes\[1\]"):
        lesson.batch_stat_noise(values, [4, 1], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="variance is 0"):
        lesson.batch_stat_noise(np.ones(10), [4], rng=np.random.default_rng(0))


def test_figure1_run_is_deterministic_and_records():
    kw = dict(steps=40, learning_rate=0.5, hidden=(20, 20), record_every=10)
    a = lesson.figure1_run(batch_norm=True, rng=np.random.default_rng(0), **kw)
    b = lesson.figure1_run(batch_norm=True, rng=np.random.default_rng(0), **kw)
    assert np.array_equal(a["val_acc"], b["val_acc"])
    assert list(a["steps"]) == [0, 10, 20, 30, 40]
    assert a["percentiles"].shape == (5, 3) and len(a["cost"]) == 40
    assert np.all(np.diff(a["percentiles"], axis=1) >= 0)   # 15th <= 50th <= 85th
    assert a["gamma"].shape == a["beta"].shape == (5,) and a["gamma"][0] == 1.0
    assert a["beta"][0] == 0.0 and a["gamma"][-1] != 1.0    # the optimizer moves gamma
    assert 0 <= a["val_acc_running"] <= 1
    plain = lesson.figure1_run(batch_norm=False, rng=np.random.default_rng(0), **kw)
    assert np.all(np.isnan(plain["gamma"]))
    assert plain["val_acc_running"] == plain["val_acc"][-1]   # no batch norm: one accuracy


def test_compare_batch_norm_same_start_and_batches():
    runs = lesson.compare_batch_norm(steps=30, learning_rate=0.5, hidden=(20, 20),
                                 record_every=10, rng=np.random.default_rng(1))
    assert set(runs) == {"without", "with"}
    assert not runs["without"]["batch_norm"] and runs["with"]["batch_norm"]
    # the same weights and batches: the first cost is computed before any update and
    # differs only through batch norm; without batch norm it equals a fresh run's
    again = lesson.compare_batch_norm(steps=30, learning_rate=0.5, hidden=(20, 20),
                                  record_every=10, rng=np.random.default_rng(1))
    assert np.array_equal(runs["with"]["cost"], again["with"]["cost"])


def test_learning_rate_sweep_shapes_and_divergence():
    acc = lesson.learning_rate_sweep([0.5, 1e6], epochs=1, hidden=(10,),
                                 rng=np.random.default_rng(0))
    assert acc["without"].shape == acc["with"].shape == (2,)
    assert all(np.all((0 <= a) & (a <= 1)) for a in acc.values())
    with pytest.raises(ValueError, match="learning_rates"):
        lesson.learning_rate_sweep([0.0], epochs=1, rng=np.random.default_rng(0))


def test_experiments_run_the_batch_norm_they_are_given():
    """bn_functions / forward reach the network and the widget's logic (notebook 03 passes
    the learner's functions once they pass their checks)."""
    calls = []

    def forward(Z, gamma, beta, eps):
        calls.append(Z.shape)
        return batchnorm.batchnorm_forward(Z, gamma, beta, eps)

    kw = dict(steps=4, learning_rate=0.5, hidden=(8,), record_every=2)
    mine = lesson.figure1_run(batch_norm=True, bn_functions=(forward, batchnorm.batchnorm_backward),
                              rng=np.random.default_rng(0), **kw)
    theirs = lesson.figure1_run(batch_norm=True, rng=np.random.default_rng(0), **kw)
    assert calls and np.array_equal(mine["val_acc"], theirs["val_acc"])
    assert np.array_equal(mine["cost"], theirs["cost"])
    calls.clear()
    lesson.unit_batch(1.0, 0.0, 16, forward=forward, rng=np.random.default_rng(0))
    assert calls == [(1, 16)]


def test_a_network_of_layers_learns_the_digits_and_is_seeded():
    from lessonlib.layers.linear_bn import linear_bn_backward, linear_bn_forward
    runs = [lesson.train_with_layers(linear_bn_forward, linear_bn_backward, hidden=(16,),
                                     epochs=3, rng=np.random.default_rng(0)) for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0]["val_acc"]) == 3
    assert runs[0]["train_acc"][-1] > runs[0]["train_acc"][0] and runs[0]["val_acc"][-1] > 0.8
