"""lessonlib.lessons.batch_norm_test_time: notebook 04's experiments."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessonlib.core.data import (
    load_digits,  # noqa: E402
    make_blobs,  # noqa: E402
)
from lessonlib.layers import batchnorm  # noqa: E402
from lessonlib.lessons import batch_norm_test_time as lesson  # noqa: E402
from lessonlib.lessons.batch_norm_test_time import ema  # noqa: E402
from lessonlib.network import Network, train_epochs  # noqa: E402
from lessonlib.optim import Optimizer  # noqa: E402


def test_update_running_stats_follows_the_closed_form_over_many_steps():
    rng = np.random.default_rng(1)
    T, d = 400, 0.97
    mus = rng.normal(2.0, 1.0, (T, 3, 1))
    rm, rv = np.zeros((3, 1)), np.ones((3, 1))
    for t in range(T):
        rm, rv = batchnorm.update_running_stats(rm, rv, mus[t], mus[t] ** 2, d)
    weights = (1 - d) * d ** np.arange(T - 1, -1, -1)
    assert np.allclose(rm, np.einsum("t,tnk->nk", weights, mus), rtol=1e-12)
    assert np.allclose(rv, d ** T + np.einsum("t,tnk->nk", weights, mus ** 2), rtol=1e-12)
    assert np.allclose(rm[:, 0], lesson.ema(mus[:, :, 0], d)[-1], rtol=1e-12)



def test_running_average_weights_measures_the_weight_of_each_past_batch():
    w = lesson.running_average_weights(batchnorm.update_running_stats, 0.9, n_back=30,
                                       n_updates=60)
    assert w.shape == (30,)
    assert np.allclose(w, 0.1 * 0.9 ** np.arange(30), rtol=1e-12, atol=1e-15)
    assert np.isclose(w[:10].sum(), 1 - 0.9 ** 10)          # question 4.2's answer
    # decay = 0 keeps only the latest batch; decay = 0.5 halves the weight per step back
    assert np.allclose(lesson.running_average_weights(batchnorm.update_running_stats, 0.0,
                                                      n_back=4), [1, 0, 0, 0])
    assert np.allclose(lesson.running_average_weights(batchnorm.update_running_stats, 0.5,
                                                      n_back=3, n_updates=3),
                       [0.5, 0.25, 0.125])

    def swapped(rm, rv, mu, var, d):                          # decay on the batch: wrong
        return (1 - d) * rm + d * mu, (1 - d) * rv + d * var

    wrong = lesson.running_average_weights(swapped, 0.9, n_back=3)
    assert np.allclose(wrong, [0.9, 0.09, 0.009])             # the learner's function is run

    calls = []

    def spy(rm, rv, mu, var, d):
        calls.append((rm.copy(), mu.copy(), d))
        return batchnorm.update_running_stats(rm, rv, mu, var, d)

    lesson.running_average_weights(spy, 0.8, n_back=4, n_updates=6)
    assert len(calls) == 6 and all(d == 0.8 for *_, d in calls)
    assert np.all(calls[0][0] == 0)                           # starts from running_mean = 0
    assert [np.flatnonzero(mu[:, 0]).tolist() for _, mu, _ in calls] == \
        [[], [], [3], [2], [1], [0]]                          # one impulse per unit, by age


def test_ema_and_its_bias_correction():
    values = np.array([4.0, 4.0, 4.0, 4.0])
    raw = lesson.ema(values, 0.5)
    assert np.allclose(raw, [2.0, 3.0, 3.5, 3.75])
    assert np.allclose(lesson.ema(values, 0.5, bias_correction=True), 4.0)   # no start-up bias
    assert np.allclose(lesson.ema(values, 0.5, initial=1.0, bias_correction=True), 4.0)
    assert np.allclose(lesson.ema(values, 0.0), values)
    rng = np.random.default_rng(12)
    seq = rng.standard_normal((50, 3))
    t = np.arange(1, 51)[:, None]
    assert np.allclose(lesson.ema(seq, 0.9, bias_correction=True),
                       lesson.ema(seq, 0.9) / (1 - 0.9 ** t))
    with pytest.raises(ValueError, match="decay must be < 1"):
        lesson.ema(values, 1.0)
    with pytest.raises(ValueError, match="values must be a sequence"):
        lesson.ema(3.0, 0.5)
    with pytest.raises(ValueError, match="initial must be a number or match"):
        lesson.ema(seq, 0.5, initial=np.zeros(4))


def test_follow_batch_means_lag_noise_and_error():
    rng = np.random.default_rng(13)
    noise = rng.standard_normal(20000)
    trace = lesson.follow_batch_means(noise, 0.9, population=np.zeros(20000))
    assert trace["lag"] == pytest.approx(9.0)
    assert trace["noise"] == pytest.approx(np.sqrt(0.1 / 1.9))
    assert trace["rms_error"] == pytest.approx(trace["noise"], rel=0.05)  # iid noise: matches
    assert np.array_equal(trace["running"], lesson.ema(noise, 0.9))
    assert lesson.follow_batch_means(noise[:10], 0.5)["rms_error"] is None
    ramp = np.linspace(0, 10, 200)                               # a moving target, no noise
    lagging = lesson.follow_batch_means(ramp, 0.9, population=ramp)
    assert lagging["rms_error"] == pytest.approx(9 * (ramp[1] - ramp[0]), rel=0.01)
    with pytest.raises(ValueError, match="population must have the shape of batch_means"):
        lesson.follow_batch_means(noise[:10], 0.5, population=np.zeros(9))


def test_statistics_gap():
    a = {1: (np.zeros((2, 1)), np.ones((2, 1))), 2: (np.ones((1, 1)), 4 * np.ones((1, 1)))}
    assert lesson.statistics_gap(a, a) == (0.0, 0.0)
    b = {1: (np.ones((2, 1)), np.full((2, 1), 2.0)), 2: a[2]}
    mean_gap, var_gap = lesson.statistics_gap(b, a, eps=0.0)
    assert mean_gap == pytest.approx(2 / 3) and var_gap == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="same batch-norm layers"):
        lesson.statistics_gap(a, {1: a[1]})


def test_track_statistics_records_and_is_deterministic():
    runs = [lesson.track_statistics(hidden=(8,), epochs=2, batch_size=64, record_every=4,
                                rng=np.random.default_rng(3)) for _ in range(2)]
    tr = runs[0]
    T = len(tr["batch_mean"])
    assert T == 2 * -(-1079 // 64) and len(tr["running_mean"]) == len(tr["population_mean"]) == T
    assert tr["steps"][0] == 0 and np.all(np.diff(tr["steps"]) == 4)
    assert np.allclose(tr["running_mean"], lesson.ema(tr["batch_mean"], 0.9), rtol=1e-12)
    assert tr["mean_gap"][-1] < tr["mean_gap"][0]
    assert np.all((0 <= tr["acc_running"]) & (tr["acc_running"] <= 1))
    for key in ("batch_mean", "mean_gap", "acc_population"):
        assert np.array_equal(tr[key], runs[1][key])
    assert tr["net"].has_running_stats and 0 <= tr["unit"] < 8


def test_accuracy_by_statistics_and_predictions_in_batches():
    d = load_digits()
    net = lesson.track_statistics(hidden=(16,), epochs=3, batch_size=32, record_every=1000,
                              rng=np.random.default_rng(0))["net"]
    before = net.running_statistics()
    acc = lesson.accuracy_by_statistics(net, d.train.X, d.test.X, d.test.y, batch_size=32,
                                    test_batch_sizes=(2, 64), rng=np.random.default_rng(1))
    assert list(acc) == ["running averages", "population statistics", "test batches of 2",
                         "test batches of 64"]
    assert acc["running averages"] > 0.8 and acc["test batches of 2"] < acc["running averages"]
    after = net.running_statistics()
    assert all(np.array_equal(before[k][i], after[k][i]) for k in before for i in (0, 1))
    x = d.test.X[:, [0]]
    comps = [d.test.X[:, 1:4], d.test.X[:, 10:20]]
    p_eval = lesson.predictions_in_batches(net, x, comps, training=False)
    p_train = lesson.predictions_in_batches(net, x, comps, training=True)
    assert p_eval.shape == (2, 10) and np.allclose(p_eval[0], p_eval[1], atol=1e-12)
    assert not np.allclose(p_train[0], p_train[1])
    with pytest.raises(ValueError, match=r"x must be one example of shape \(n_x, 1\)"):
        lesson.predictions_in_batches(net, d.test.X[:, :2], comps, training=False)
    with pytest.raises(TypeError, match="companions must be a non-empty list"):
        lesson.predictions_in_batches(net, x, [], training=False)


def test_notebook04_plots_and_widget():
    rng = np.random.default_rng(14)
    trace = lesson.follow_batch_means(rng.standard_normal(60), 0.8, population=np.zeros(60))
    assert isinstance(lesson.plot_running_mean(trace), plt.Axes)
    track = {"steps": np.arange(0, 50, 10), "mean_gap": np.linspace(1, 0.1, 5),
             "var_gap": np.linspace(2, 0.1, 5), "decay": 0.9}
    fig, ax = plt.subplots()
    assert lesson.plot_statistics_gap(track, ax=ax) is ax
    widget = lesson.decay_widget(rng.standard_normal(60), np.zeros(60))
    slider, box = widget.children[0].children
    assert slider.description == "decay" and slider.value == 0.9
    slider.value = 0.5                                       # redraws without error
    box.value = True
    plt.close("all")


def test_train_epochs_trains_in_training_mode_and_restores_the_mode():
    X, y = make_blobs(21, 3, rng=np.random.default_rng(0))     # m = 63: 4 batches of 16
    net = Network([2, 5, 3], batch_norm=True, rng=np.random.default_rng(0)).eval()
    means, modes = [], []

    def on_step(step, n, cost):
        means.append(n.bn_layers[1].batch_mean[:, 0].copy())
        modes.append(n.training)

    train_epochs(net, Optimizer("gd", 0.1), X, y, epochs=3, batch_size=16,
                 rng=np.random.default_rng(1), on_step=on_step)
    assert all(modes) and not net.training and net.bn_layers[1].n_updates == 12
    assert np.allclose(net.bn_layers[1].running_mean[:, 0], ema(np.array(means), 0.9)[-1],
                       rtol=1e-12)


def test_compare_norms_scores_both_and_batch_norm_cannot_train_on_one_example():
    from lessonlib.layers.layernorm import layernorm_forward
    calls = []

    def mine(*args):
        calls.append(1)
        return layernorm_forward(*args)

    out = lesson.compare_norms((16, 1), hidden=(8,), epochs=1, n_repeats=2, ln_forward=mine,
                               rng=np.random.default_rng(0))
    assert list(out) == [16, 1] and calls
    row = out[16]
    assert all(0 <= row[k][0] <= 1 and row[k][1] >= 0 for k in row)
    assert out[1]["batch norm, running statistics"] is None
    assert out[1]["layer norm"][0] > 0.5


def test_compare_norms_trains_layer_norm_through_the_backward_it_is_given():
    from lessonlib.layers.layernorm import layernorm_backward_by_autodiff
    calls = []

    def mine(dZ_tilde, cache):
        calls.append(1)
        return layernorm_backward_by_autodiff(dZ_tilde, cache)

    args = dict(hidden=(8,), epochs=1, n_repeats=1)
    out = lesson.compare_norms((32,), ln_backward=mine, rng=np.random.default_rng(1), **args)
    same = lesson.compare_norms((32,), rng=np.random.default_rng(1), **args)
    assert calls and out[32]["layer norm"][0] == pytest.approx(same[32]["layer norm"][0])
    with pytest.raises(TypeError, match="ln_backward"):
        lesson.compare_norms((32,), ln_backward=3, rng=np.random.default_rng(1), **args)

