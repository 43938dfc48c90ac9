"""lessonlib.lessons.batch_norm: notebook 03's gradient check, widget logic and experiments,
and its measurements of the lecture's claims."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from lessonlib_instructor import answers  # noqa: E402

from lessonlib.core.data import shared_digits  # noqa: E402
from lessonlib.grader.session import Session  # noqa: E402
from lessonlib.layers import batchnorm  # noqa: E402
from lessonlib.lessons import batch_norm as lesson  # noqa: E402
from lessonlib.network import Network  # noqa: E402
from tests.grader.common import reference_copy  # noqa: E402


def test_gradcheck_report_names_whose_functions_ran():
    report = lesson.gradcheck_report(batchnorm.batchnorm_forward, answers.batchnorm_backward,
                                     rng=np.random.default_rng(0))
    assert report.startswith("batch norm by batchnorm_forward and batchnorm_backward: ")
    assert "correct" in report
    forward, backward = lesson.gradcheck_choices(Session("03_batch_norm"))
    assert lesson.gradcheck_report(forward, backward, rng=np.random.default_rng(0)) == (
        f"batch norm by {forward.whose} and {backward.whose}: "
        + report.split(": ", 1)[1])

    def stub(*a):
        raise NotImplementedError

    unwritten = lesson.gradcheck_report(stub, stub, rng=np.random.default_rng(0))
    assert "could not run" in unwritten and "not written yet" in unwritten

    def wrong_backward(dZt, cache):
        dZ, dg, db = answers.batchnorm_backward(dZt, cache)
        return dZ * 1.01, dg, db

    bad = lesson.gradcheck_report(batchnorm.batchnorm_forward, wrong_backward,
                                  rng=np.random.default_rng(0))
    assert "check your formula" in bad

    def crashes(*a):
        raise ValueError("boom")

    assert "could not run" in lesson.gradcheck_report(crashes, crashes,
                                                      rng=np.random.default_rng(0))


def _passed(session, exercise_id, fn):
    """What a passing check of ``exercise_id`` records in the session."""
    from lessonlib.grader.exercises import EXERCISES, Status
    from lessonlib.grader.framework import CheckResult
    session.record(CheckResult(EXERCISES[exercise_id], Status.PASSED, 1, 1, 1.0, "", ""), fn)


def test_gradcheck_choices_follow_the_checks_that_pass():
    session = Session("03_batch_norm")
    forward, backward = lesson.gradcheck_choices(session)
    assert forward.fn is batchnorm.batchnorm_forward and not forward.yours
    assert backward.fn is batchnorm.batchnorm_backward_by_autodiff and not backward.yours
    assert "3.1 does not pass yet" in forward.whose
    assert backward.whose == ("automatic differentiation of lessonlib's batch norm forward "
                              "(exercises 3.3 and 3.4 do not pass yet)")
    graph, short = (reference_copy(answers.batchnorm_backward) for _ in range(2))
    fwd = reference_copy(batchnorm.batchnorm_forward)
    _passed(session, "3.3", graph)
    assert lesson.gradcheck_choices(session)[1].fn is graph
    assert lesson.gradcheck_choices(session)[1].whose == "your batchnorm_backward_graph"
    _passed(session, "3.4", short)                                # the short one wins
    assert lesson.gradcheck_choices(session)[1].whose == "your batchnorm_backward"
    _passed(session, "3.1", fwd)
    forward, backward = lesson.gradcheck_choices(session)
    assert (forward.fn, backward.fn) == (fwd, short) and forward.yours and backward.yours
    line = lesson.gradcheck_report(forward, backward, rng=np.random.default_rng(5))
    assert line.startswith("batch norm by your batchnorm_forward and your batchnorm_backward")
    assert "(below 1e-7: correct)" in line


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


def browser_value(slider):
    """The value a slider shows when it opens in the browser: a numeric slider snaps its
    value to ``min + k * step`` (on the exponent for a log slider), a selection slider shows
    the option at its index."""
    import ipywidgets as widgets

    if isinstance(slider, widgets.SelectionSlider):
        return slider._options_values[slider.index]
    if isinstance(slider, widgets.FloatLogSlider):
        exp = np.log(slider.value) / np.log(slider.base)
        k = round((exp - slider.min) / slider.step)
        return slider.base ** (slider.min + k * slider.step)
    return slider.min + round((slider.value - slider.min) / slider.step) * slider.step


def test_browser_value_models_the_snapping_that_showed_0998():
    import ipywidgets as widgets

    old = widgets.FloatLogSlider(value=1.0, base=10, min=np.log10(0.05), max=np.log10(20),
                                 step=0.01)
    assert f"{browser_value(old):.3g}" == "0.998"


def test_widget_opens_on_the_values_the_code_states():
    import inspect

    import ipywidgets as widgets

    stated = {name: p.default for name, p in
              inspect.signature(lesson.normalization_widget).parameters.items()}
    box = lesson.normalization_widget(seed=0)
    gamma, beta, size = box.children[0].children
    assert [s.description for s in (gamma, beta, size)] == ["gamma", "beta", "batch size"]
    assert (stated["gamma"], stated["beta"], stated["batch_size"]) == (1.0, 0.0, 64)
    for slider, value in ((gamma, 1.0), (beta, 0.0), (size, 64)):
        assert slider.value == value
        assert browser_value(slider) == pytest.approx(value, abs=1e-12)
    box = lesson.normalization_widget(seed=0, gamma=-2.3, beta=4.2, batch_size=2)
    assert [browser_value(s) for s in box.children[0].children] == pytest.approx(
        [-2.3, 4.2, 2], abs=1e-12)
    plt.close("all")

    # the batch size on a log scale: powers of two, 64 in the middle, not at the far left
    assert isinstance(size, widgets.SelectionSlider)
    assert size._options_values == tuple(2 ** k for k in range(1, 11)) == lesson.BATCH_SIZES
    assert size._options_labels == tuple(str(2 ** k) for k in range(1, 11))
    assert size.index == 5 and size.label == "64"
    size.value = 2                                        # redraws without error
    assert size.value == 2
    plt.close("all")


def test_the_widget_redraws_with_the_chosen_batch():
    import ipywidgets as widgets

    seen = []
    real = lesson.unit_batch

    def spy(*args, **kwargs):
        seen.append(args)
        return real(*args, **kwargs)

    try:
        lesson.unit_batch = spy
        box = lesson.normalization_widget(seed=0)
        gamma, beta, size = box.children[0].children
        size.value, gamma.value, beta.value = 1024, 2.0, -1.0
    finally:
        lesson.unit_batch = real
    assert seen == [(1.0, 0.0, 64), (1.0, 0.0, 1024), (2.0, 0.0, 1024), (2.0, -1.0, 1024)]
    assert isinstance(box.children[1], widgets.Output)
    plt.close("all")


@pytest.mark.parametrize("batch_size", [2, 4, 64, 1024])
@pytest.mark.parametrize("gamma, beta", [(1.0, 0.0), (3.0, 6.0), (-3.0, -3.0), (0.1, 5.0)])
def test_the_legend_covers_no_bar(batch_size, gamma, beta):
    """The legend of the widget's plot lies outside the axes, whatever the batch."""
    batch = lesson.unit_batch(gamma, beta, batch_size, rng=np.random.default_rng(3))
    ax = lesson.plot_unit_batch(batch)
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    bars = [p.get_window_extent(renderer) for p in ax.patches if p.get_height() > 0]
    assert bars
    assert not any(legend.overlaps(b) for b in bars)
    assert not legend.overlaps(ax.get_window_extent(renderer))   # nothing inside the axes
    assert not [t for t in ax.get_legend().get_texts() if "-0.00" in t.get_text()]
    tight = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)   # what is shown
    assert tight.x1 >= legend.x1 - 0.5 and tight.y0 <= legend.y0 + 0.5
    plt.close(fig)


def test_each_widget_has_a_fixed_id_and_a_placeholder_in_the_notebook():
    import ipywidgets as widgets

    from lessonlib.grader.notebook_files import learner_dir, read_notebook, solutions_dir

    first = lesson.normalization_widget(seed=0)
    assert first.model_id == lesson.WIDGET_IDS["normalization_widget"]
    again = lesson.normalization_widget(seed=0)                   # the cell run again
    assert first.comm is None                                     # the old one is closed
    assert again.model_id == lesson.WIDGET_IDS["normalization_widget"]
    plt.close("all")

    state = lesson.saved_widget_state()
    models = state["application/vnd.jupyter.widget-state+json"]["state"]
    placeholder = models[lesson.WIDGET_IDS["normalization_widget"]]
    html = widgets.HTML()
    for model, real in ((placeholder, html),
                        (models[placeholder["state"]["layout"].removeprefix("IPY_MODEL_")],
                         html.layout),
                        (models[placeholder["state"]["style"].removeprefix("IPY_MODEL_")],
                         html.style)):
        assert (model["model_name"], model["model_module"], model["model_module_version"]) == (
            real._model_name, real._model_module, real._model_module_version)
    assert "Run this cell" in placeholder["state"]["value"]
    for path in (solutions_dir() / "03_batch_norm.ipynb", learner_dir() / "03_batch_norm.ipynb"):
        nb = read_notebook(path)
        assert nb.metadata["widgets"] == state, path
        calls = [c for c in nb.cells if "normalization_widget(" in c.source]
        assert len(calls) == 1                       # one widget, one fixed id


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
    mine = lesson.figure1_run(batch_norm=True,
                              bn_functions=(forward, batchnorm.batchnorm_backward_by_autodiff),
                              rng=np.random.default_rng(0), **kw)
    theirs = lesson.figure1_run(batch_norm=True, rng=np.random.default_rng(0), **kw)
    assert calls and np.array_equal(mine["val_acc"], theirs["val_acc"])
    assert np.array_equal(mine["cost"], theirs["cost"])
    calls.clear()
    lesson.unit_batch(1.0, 0.0, 16, forward=forward, rng=np.random.default_rng(0))
    assert calls == [(1, 16)]


def test_a_network_of_layers_learns_the_digits_and_is_seeded():
    from lessonlib_instructor.answers import linear_bn_backward

    from lessonlib.layers.linear_bn import linear_bn_forward
    runs = [lesson.train_with_layers(linear_bn_forward, linear_bn_backward, hidden=(16,),
                                     epochs=3, rng=np.random.default_rng(0)) for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0]["val_acc"]) == 3
    assert runs[0]["train_acc"][-1] > runs[0]["train_acc"][0] and runs[0]["val_acc"][-1] > 0.8


# ------------------------------------------------------------------ the lecture's claims

def test_standardized_inputs_train_faster_and_runs_are_seeded():
    kw = dict(epochs=3, n_seeds=2)
    a = lesson.input_scaling_curves([0.3, 3.0], rng=np.random.default_rng(0), **kw)
    b = lesson.input_scaling_curves([0.3, 3.0], rng=np.random.default_rng(0), **kw)
    assert a["raw"].shape == a["standardized"].shape == (2, 2, 3)
    assert np.array_equal(a["raw"], b["raw"])
    assert np.all(a["standardized"][:, :, -1] < a["raw"][:, :, -1])     # the lecture's claim
    assert np.all(np.diff(a["standardized"], axis=2) < 0)                 # costs go down
    assert isinstance(lesson.plot_input_scaling(a), plt.Axes)
    plt.close("all")


def test_best_rate_skips_diverged_runs():
    curves = np.array([[[3.0, 2.0], [3.0, 0.5], [1.0, np.nan]]])
    assert lesson.best_rate(curves) == 1
    with pytest.raises(ValueError, match="curves"):
        lesson.best_rate(np.full((1, 2, 2), np.nan))


def test_layer_spread_shrinks_through_sigmoid_layers_and_not_with_batch_norm():
    X = shared_digits().val.X
    plain = lesson.layer_spread(Network([64, 50, 50, 50, 10], activation="sigmoid",
                                        rng=np.random.default_rng(0)), X)
    assert plain["spread"].shape == (3,)
    assert np.all(plain["spread"][1:] < plain["spread"][:-1] / 3)       # about 4x per layer
    assert np.all(plain["saturated"] == 0)
    bn = lesson.layer_spread(Network([64, 50, 50, 10], activation="sigmoid", batch_norm=True,
                                     rng=np.random.default_rng(0)), X)
    assert np.allclose(bn["spread"], 1.0, atol=1e-3)


def test_shift_images():
    X = np.arange(64.0)[:, None] / 64
    assert np.array_equal(lesson.shift_images(X, "none"), X)
    assert np.allclose(lesson.shift_images(X, "contrast"), 0.5 * X + 0.3)
    assert np.allclose(lesson.shift_images(X, "inverted"), 1 - X)
    moved = lesson.shift_images(X, "one pixel right").reshape(8, 8)
    assert np.all(moved[:, 0] == 0) and np.array_equal(moved[:, 1:], X.reshape(8, 8)[:, :-1])
    with pytest.raises(ValueError, match="kind"):
        lesson.shift_images(X, "rotated")
    assert isinstance(lesson.plot_shifted_digit(X[:, 0]), plt.Axes)
    plt.close("all")


def test_normalizing_undoes_a_contrast_change_but_not_a_move_or_an_inversion():
    model = lesson.covariate_shift_model(epochs=5, rng=np.random.default_rng(0))
    none = lesson.shifted_accuracy(model, "none")
    contrast = lesson.shifted_accuracy(model, "contrast")
    moved = lesson.shifted_accuracy(model, "one pixel right")
    inverted = lesson.shifted_accuracy(model, "inverted")
    assert none["training_stats"] > 0.9
    assert contrast["training_stats"] < 0.5
    assert contrast["own_stats"] == pytest.approx(none["own_stats"], abs=0.02)
    assert moved["own_stats"] < none["own_stats"] - 0.2
    assert inverted["own_stats"] < 0.1


def test_regularization_gap_pairs_runs_and_records_both_sets():
    kw = dict(n_seeds=2, epochs=3, hidden=(16,), batch_size=32)
    a = lesson.regularization_gap(rng=np.random.default_rng(0), **kw)
    b = lesson.regularization_gap(rng=np.random.default_rng(0), **kw)
    assert set(a) == {"without", "with"}
    for name in a:
        assert set(a[name]) == {"train", "val"} and a[name]["val"].shape == (2,)
        assert np.array_equal(a[name]["val"], b[name]["val"])
        assert np.all((a[name]["train"] > 0.3) & (a[name]["train"] <= 1))


def test_mean_and_error():
    mean, err = lesson.mean_and_error([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and err == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)
    with pytest.raises(ValueError, match="values"):
        lesson.mean_and_error([1.0])

