"""lessonlib.lessons.putting_it_together: notebook 06's network, trials, search, comparison
and plots."""

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from lessonlib_instructor import answers  # noqa: E402

from lessonlib.core.data import shared_digits  # noqa: E402
from lessonlib.lessons import putting_it_together as lesson  # noqa: E402
from lessonlib.network import train_epochs  # noqa: E402
from lessonlib.optim import Optimizer  # noqa: E402
from lessonlib.search import settings, spaces  # noqa: E402

GOOD = {"learning_rate": 0.01, "hidden_units": 32, "batch_size": 64, "n_hidden_layers": 2}


def test_trial_learns_and_is_determined_by_its_rng():
    a = lesson.capstone_trial(GOOD, rng=np.random.default_rng(3))
    b = lesson.capstone_trial(GOOD, rng=np.random.default_rng(3))
    c = lesson.capstone_trial({**GOOD, "epochs": 2}, rng=np.random.default_rng(4))
    assert a == b
    assert a > 0.9
    assert 0.1 < c < a + 0.05


def test_network_has_the_searched_shape_and_fixed_defaults():
    net = lesson.build_network({**GOOD, "hidden_units": 20, "n_hidden_layers": 3},
                               rng=np.random.default_rng(0))
    assert net.layer_dims == [64, 20, 20, 20, 10]
    assert sorted(net.bn_layers) == [1, 2, 3]
    assert all(n.decay == lesson.FIXED["bn_decay"] == 0.9 for n in net.bn_layers.values())
    assert "b1" not in net.params and "gamma1" in net.params
    plain = lesson.build_network(GOOD, rng=np.random.default_rng(0), batch_norm=False)
    assert plain.layer_dims == [64, 32, 32, 10] and not plain.bn_layers
    assert "b1" in plain.params and "beta1" not in plain.params
    # the same weight draws with and without batch norm
    with_bn = lesson.build_network(GOOD, rng=np.random.default_rng(0))
    assert np.array_equal(with_bn.params["W1"], plain.params["W1"])


def test_fixed_hyperparameters_are_adams_defaults_and_reach_the_optimizer(monkeypatch):
    assert {k: lesson.FIXED[k] for k in ("adam_beta1", "adam_beta2", "adam_epsilon")} == \
        {"adam_beta1": 0.9, "adam_beta2": 0.999, "adam_epsilon": 1e-8}
    seen = []
    original = lesson.Optimizer

    def spy(*args, **kwargs):
        opt = original(*args, **kwargs)
        seen.append(opt)
        return opt

    monkeypatch.setattr(lesson, "Optimizer", spy)
    lesson.train_model({**GOOD, "epochs": 1, "adam_beta1": 0.8}, rng=np.random.default_rng(0),
                       validation=False)
    assert seen[0].kind == "adam" and seen[0].beta1 == 0.8 and seen[0].beta2 == 0.999
    assert seen[0].learning_rate == 0.01 and seen[0].t == lesson.training_steps(
        {**GOOD, "epochs": 1})


def test_training_steps_counts_the_mini_batches():
    m = shared_digits().train.m
    assert lesson.training_steps({**GOOD, "batch_size": 64}) == 12 * math.ceil(m / 64)
    # 1079 = 4 * 256 + 55: five steps an epoch; a last batch of one example is skipped
    assert lesson.training_steps({**GOOD, "batch_size": 256}) == 60
    assert lesson.training_steps({**GOOD, "batch_size": 10, "epochs": 1}, m=21) == 2
    assert lesson.training_steps({**GOOD, "batch_size": 10, "epochs": 1}, m=22) == 3
    net = lesson.build_network(GOOD, rng=np.random.default_rng(0))
    opt = Optimizer("adam", 0.01)
    d = shared_digits()
    train_epochs(net, opt, d.train.X, d.train.y, epochs=2, batch_size=256,
                 rng=np.random.default_rng(0))
    assert opt.t == lesson.training_steps({**GOOD, "batch_size": 256, "epochs": 2})


def test_train_model_leaves_eval_mode_and_learns():
    net, hist = lesson.train_model(GOOD, rng=np.random.default_rng(1))
    assert not net.training and len(hist["val_acc"]) == lesson.FIXED["epochs"]
    d = shared_digits()
    assert lesson.evaluate(net, d.test.X, d.test.y) >= 0.95
    plain, _ = lesson.train_model(GOOD, rng=np.random.default_rng(1), validation=False,
                                  batch_norm=False)
    assert not plain.bn_layers and lesson.evaluate(plain, d.test.X, d.test.y) >= 0.9


def _short_trial(params, *, rng):
    return lesson.capstone_trial({**params, "epochs": 2}, rng=rng)


def test_search_driver_small_run_refines_and_is_the_same_for_any_executor():
    space = answers.make_search_space()
    kw = dict(n_rounds=2, n_per_round=3, trial_fn=_short_trial)
    serial = lesson.coarse_to_fine_search(space, rng=np.random.default_rng(5), **kw)
    with ThreadPoolExecutor(2) as pool:
        threads = lesson.coarse_to_fine_search(space, rng=np.random.default_rng(5),
                                               executor=pool, **kw)
    assert [r["score"] for r in serial["results"]] == [r["score"] for r in threads["results"]]
    assert [r["round"] for r in serial["results"]] == [1, 1, 1, 2, 2, 2]
    assert len(serial["spaces"]) == 2 and serial["spaces"][0] is space
    for k, dist in serial["spaces"][1].items():
        assert type(dist) is type(space[k])
        assert space[k].low <= dist.low <= dist.high <= space[k].high
    for trial in serial["rounds"][1]:
        for k, dist in serial["spaces"][1].items():
            assert dist.low <= trial["params"][k] <= dist.high
    assert serial["best"]["score"] == max(r["score"] for r in serial["results"])


def _scaled_trial(params, *, rng):
    return -abs(np.log10(params["learning_rate"]) + 2) + 0 * rng.random()


def test_search_with_a_toy_trial_zooms_in_on_the_best_rate():
    out = lesson.coarse_to_fine_search(answers.make_search_space(), n_rounds=3,
                                       n_per_round=10, trial_fn=_scaled_trial,
                                       rng=np.random.default_rng(0))
    widths = [np.log10(s["learning_rate"].high / s["learning_rate"].low)
              for s in out["spaces"]]
    assert widths[0] > widths[1] > widths[2]
    assert abs(np.log10(out["best"]["params"]["learning_rate"]) + 2) < 0.3


def test_search_takes_one_count_per_round():
    out = lesson.coarse_to_fine_search(answers.make_search_space(), n_rounds=3,
                                       n_per_round=(6, 2, 3), trial_fn=_scaled_trial,
                                       rng=np.random.default_rng(0))
    assert [len(r) for r in out["rounds"]] == [6, 2, 3]
    assert [t["round"] for t in out["results"]] == [1] * 6 + [2] * 2 + [3] * 3
    with pytest.raises(ValueError, match="n_per_round"):
        lesson.coarse_to_fine_search(answers.make_search_space(), n_rounds=2,
                                     n_per_round=(6, 2, 3),
                                     trial_fn=_scaled_trial, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"n_per_round\[1\]"):
        lesson.coarse_to_fine_search(answers.make_search_space(), n_rounds=2,
                                     n_per_round=[6, 0],
                                     trial_fn=_scaled_trial, rng=np.random.default_rng(0))


def test_reference_search_space_tunes_notebook_01s_hyperparameters_on_their_scales():
    space = answers.make_search_space()
    assert tuple(space) == settings.SEARCHED
    assert type(space["learning_rate"]) is spaces.LogUniform
    assert type(space["hidden_units"]) is spaces.IntLogUniform
    assert type(space["batch_size"]) is spaces.IntLogUniform
    assert type(space["n_hidden_layers"]) is spaces.IntUniform
    assert not {"beta1", "adam_beta1", "bn_decay"} & set(space)
    for params in spaces.sample_space(space, 50, rng=np.random.default_rng(0)):
        settings.as_params(params)
    # the decay warms up within the fewest steps of the space
    fewest = lesson.training_steps({**GOOD, "batch_size": space["batch_size"].high})
    assert lesson.FIXED["bn_decay"] ** fewest < 0.01


# ------------------------------------------------------------------ rank correlations


def _pearson_of_ranks(x, y):
    from scipy.stats import spearmanr
    return spearmanr(x, y).statistic


@pytest.mark.parametrize("x, y, want", [
    ([1, 2, 3, 4], [10, 20, 30, 40], 1.0),
    ([1, 2, 3, 4], [1, 0.5, 0.2, 0.1], -1.0),
    ([1e-4, 1e-3, 1e-2], [0.5, 0.9, 0.95], 1.0),          # any monotone scale
    ([1, 2, 3, 4], [1, 3, 2, 4], 0.8),
    ([1, 1, 2, 3], [1, 2, 3, 4], 4.5 / math.sqrt(4.5 * 5)),  # ties share their average rank
    ([5, 5, 5], [1, 2, 3], 0.0),                           # a constant: no trend
])
def test_rank_correlation_known_values(x, y, want):
    assert lesson.rank_correlation(x, y) == pytest.approx(want, abs=1e-12)


def test_rank_correlation_matches_scipy_with_ties():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.integers(1, 5, 30).astype(float)
        y = rng.random(30).round(1)
        assert lesson.rank_correlation(x, y) == pytest.approx(_pearson_of_ranks(x, y),
                                                              abs=1e-12)


def test_rank_correlations_and_scores_by_decade_on_trials():
    trials = [{"params": {"learning_rate": lr, "hidden_units": h}, "score": s}
              for lr, h, s in [(2e-4, 16, 0.2), (5e-4, 64, 0.5), (3e-3, 32, 0.9),
                               (7e-3, 16, 0.95), (0.05, 64, 0.93)]]
    rho = lesson.rank_correlations(trials)
    assert list(rho) == ["learning_rate", "hidden_units"]
    assert rho["learning_rate"] == pytest.approx(0.9)
    by_decade = lesson.scores_by_decade(trials)
    assert [(lo, hi, n) for lo, hi, n, _, _ in by_decade] == [
        (pytest.approx(1e-4), pytest.approx(1e-3), 2), (pytest.approx(1e-3),
                                                        pytest.approx(1e-2), 2),
        (pytest.approx(1e-2), pytest.approx(1e-1), 1)]
    assert by_decade[0][3:] == (pytest.approx(0.35), 0.2)
    assert by_decade[1][3:] == (pytest.approx(0.925), 0.9)
    # an exact power of ten starts its decade
    assert lesson.scores_by_decade([{"params": {"lr": 1e-3}, "score": 1.0}], "lr")[0][0] == \
        pytest.approx(1e-3)
    with pytest.raises(ValueError, match="key"):
        lesson.scores_by_decade(trials, "momentum")


# ------------------------------------------------------------------ the comparison


def test_standard_error_and_the_answer_of_question_6_2():
    assert lesson.standard_error(0.98, 359) == pytest.approx(0.0073887, rel=1e-4)
    assert lesson.standard_error(1.0, 359) == 0.0
    assert lesson.standard_error(0.5, 100) == pytest.approx(0.05)


def test_paired_difference_is_smaller_than_unpaired_when_models_agree():
    rng = np.random.default_rng(0)
    a = (rng.random(359) < 0.97).astype(float)
    b = a.copy()
    b[np.flatnonzero(a)[:3]] = 0                       # b misses 3 more images than a
    diff, se = lesson.paired_difference(a, b)
    assert diff == pytest.approx(3 / 359)
    d = a - b
    assert se == pytest.approx(d.std(ddof=1) / math.sqrt(359))
    unpaired = math.hypot(lesson.standard_error(a.mean(), 359),
                          lesson.standard_error(b.mean(), 359))
    assert se < unpaired / 2
    assert lesson.paired_difference(a, a) == (0.0, 0.0)
    with pytest.raises(ValueError, match="shares"):
        lesson.paired_difference([0, 2], [0, 1])


def test_compare_models_trains_three_models_on_the_test_split():
    calls = []

    def counting_evaluate(net, X, y):
        calls.append(net.layer_dims)
        return lesson.evaluate(net, X, y)

    params = {**GOOD, "epochs": 3}
    out = lesson.compare_models(params, n_seeds=2, rng=np.random.default_rng(0),
                                evaluate_fn=counting_evaluate)
    assert list(out) == ["batch norm", "no batch norm", "softmax regression"]
    m = shared_digits().test.m
    for name, r in out.items():
        assert len(r["accuracies"]) == 2 and r["correct"].shape == (m,)
        assert r["accuracy"] == pytest.approx(np.mean(r["accuracies"]))
        assert r["accuracy"] == pytest.approx(r["correct"].mean())
        assert r["se"] == pytest.approx(lesson.standard_error(r["accuracy"], m))
        assert r["accuracy"] > 0.85, name
    assert calls == [[64, 32, 32, 10]] * 4 + [[64, 10]] * 2
    again = lesson.compare_models(params, n_seeds=2, rng=np.random.default_rng(0))
    assert again["batch norm"]["accuracies"] == out["batch norm"]["accuracies"]
    lines = lesson.format_comparison(out)
    assert len(lines) == 1 + 3 + 2
    assert lines[1].startswith("batch norm ") and f"{out['batch norm']['accuracy']:.3f}" in \
        lines[1]
    assert lines[4].startswith("batch norm - no batch norm: ")
    assert lines[4].endswith(("a clear difference", "within noise"))


def test_format_comparison_verdicts():
    m = 100
    right = np.ones(m)
    worse = right.copy()
    worse[:10] = 0
    same = right.copy()
    same[:1] = 0

    def entry(correct):
        acc = float(correct.mean())
        return {"accuracies": [acc], "accuracy": acc,
                "se": lesson.standard_error(acc, m), "correct": correct}

    lines = lesson.format_comparison({"a": entry(right), "b": entry(worse),
                                      "c": entry(same), "d": entry(right)})
    assert lines[5] == "a - b: +0.100 +- 0.030 (+10.0 images), 3.3 standard errors: a " \
                       "clear difference"
    assert lines[6].endswith("1.0 standard errors: within noise")
    assert lines[7] == "a - d: +0.000 +- 0.000 (+0.0 images), 0.0 standard errors: within " \
                       "noise"


# ------------------------------------------------------------------ formatting and plots


def test_format_helpers():
    assert lesson.format_params(GOOD) == ("learning rate 0.01, 32 hidden units, "
                                          "mini-batches of 64, 2 hidden layers")
    lines = lesson.format_space(answers.make_search_space())
    assert lines[0].startswith("learning_rate") and "LogUniform" in lines[0]
    assert lines[2].startswith("batch_size") and "IntLogUniform [16, 256]" in lines[2]


def test_describe_parameters_names_batch_norms_beta_apart_from_adams():
    net = lesson.build_network(GOOD, rng=np.random.default_rng(0))
    lines = lesson.describe_parameters(net)
    names = [line.split("  ")[0].strip() for line in lines]
    assert names == ["W[1]", "bn gamma[1]", "bn beta[1]", "W[2]", "bn gamma[2]",
                     "bn beta[2]", "W[3]", "b[3]"]
    assert lines[2].endswith("(32, 1)") and lines[0].endswith("(32, 64)")
    plain = lesson.describe_parameters(lesson.build_network(GOOD, rng=np.random.default_rng(0),
                                                            batch_norm=False))
    assert [line.split()[0] for line in plain] == ["W[1]", "b[1]", "W[2]", "b[2]", "W[3]",
                                                   "b[3]"]


def test_plots_build():
    search = lesson.coarse_to_fine_search(answers.make_search_space(), n_rounds=2,
                                          n_per_round=4, trial_fn=_scaled_trial,
                                          rng=np.random.default_rng(1))
    ax = lesson.plot_search(search, "learning_rate")
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "validation accuracy"
    ax = lesson.plot_search(search, "batch_size")
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "mini-batch size (log axis)"
    assert [int(t) for t in ax.get_xticks()] == [16, 32, 64, 128, 256]
    ax = lesson.plot_search(search, "n_hidden_layers")
    assert ax.get_xscale() == "linear" and list(ax.get_xticks()) == [1, 2, 3, 4]
    ema = {**search, "spaces": [{"beta": spaces.EmaBeta(0.8, 0.999)}] * 2,
           "rounds": [[{"params": {"beta": 0.9}, "score": 0.5}]] * 2,
           "results": [{"params": {"beta": 0.9}, "score": 0.5}] * 2,
           "best": {"params": {"beta": 0.9}, "score": 0.5}}
    ax = lesson.plot_search(ema, "beta")
    assert ax.get_xscale() == "log" and ax.get_xlabel().startswith("1 - beta")
    axes = lesson.plot_search_overview(search)
    assert len(axes) == 4
    with pytest.raises(ValueError, match="key"):
        lesson.plot_search(search, "epochs")
    _, hist = lesson.train_model({**GOOD, "epochs": 2}, rng=np.random.default_rng(0))
    ax = lesson.plot_training(hist)
    assert len(ax.lines) == 2
    plt.close("all")
