"""lessonlib.lessons.softmax_regression: notebook 05's model, pictures and widget."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from lessonlib_instructor import answers  # noqa: E402

from lessonlib.core.data import make_blobs  # noqa: E402
from lessonlib.layers import activations, softmax  # noqa: E402
from lessonlib.lessons import softmax_regression as lesson  # noqa: E402
from lessonlib.network import Network  # noqa: E402


def test_hardmax_picks_first_on_ties_and_is_the_low_temperature_limit():
    assert np.array_equal(softmax.hardmax(np.array([[2.0], [2.0], [1.0]]))[:, 0], [1, 0, 0])
    z = np.array([1.0, 3.0, 2.5])
    assert np.allclose(lesson.softmax_with_temperature(z, 1e-3),
                       softmax.hardmax(z[:, None])[:, 0])


def test_softmax_regression_separates_blobs_linearly():
    rng = np.random.default_rng(6)
    X, y = make_blobs(60, 4, spread=0.5, rng=rng)
    net, hist = lesson.train_softmax_regression(X, y, epochs=30, batch_size=16,
                                            learning_rate=0.5, rng=rng)
    assert net.layer_dims == [2, 4] and net.n_layers == 1
    assert hist["train_acc"][-1] > 0.95 and hist["cost"][-1] < hist["cost"][0]
    assert net.params["W1"].shape == (4, 2)


def test_softmax_regression_is_deterministic_and_takes_validation_data():
    X, y = make_blobs(30, 3, rng=np.random.default_rng(7))
    runs = [lesson.train_softmax_regression(X, y, n_classes=5, epochs=3,
                                            rng=np.random.default_rng(8), X_val=X, y_val=y)
            for _ in range(2)]
    assert runs[0][0].layer_dims == [2, 5]
    assert np.array_equal(runs[0][0].params["W1"], runs[1][0].params["W1"])
    assert len(runs[0][1]["val_acc"]) == 3


def test_softmax_with_temperature_sharpens_and_flattens():
    z = np.array([2.0, 1.0, 0.1])
    assert np.allclose(lesson.softmax_with_temperature(z, 1.0), softmax.softmax(z[:, None])[:, 0])
    hot, cold = lesson.softmax_with_temperature(z, 100.0), lesson.softmax_with_temperature(z, 0.1)
    assert np.allclose(hot, 1 / 3, atol=0.01) and cold[0] > 0.9999
    Z = np.array([[1.0, 5.0], [2.0, 5.0]])
    assert np.allclose(lesson.softmax_with_temperature(Z, 2.0), softmax.softmax(Z / 2))
    tiny = lesson.softmax_with_temperature(np.array([1000.0, -1000.0, 999.0]), 1e-300)
    assert np.array_equal(tiny, [1, 0, 0])
    huge = lesson.softmax_with_temperature(np.array([1e4, -1e4]), 1e300)
    assert np.allclose(huge, 0.5)


def test_temperature_curves():
    z = np.array([3.0, 1.0, 0.0])
    P = lesson.temperature_curves(z, [0.5, 1.0, 10.0])
    assert P.shape == (3, 3) and np.allclose(P.sum(axis=1), 1)
    assert P[0, 0] > P[1, 0] > P[2, 0]          # the top class loses probability as T grows
    assert "T = 1: probabilities 0.844 0.114 0.042" == lesson.describe_temperature(z, 1.0)


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    cm = lesson.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 4)
    assert cm.shape == (4, 4) and cm.dtype.kind == "i"
    assert np.array_equal(cm[:3, :3], [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert cm.sum() == 6 and cm.trace() == 4 and not cm[3].any()


def test_misclassified_indices():
    assert np.array_equal(lesson.misclassified([0, 1, 2, 3], [0, 2, 2, 1]), [1, 3])
    assert np.array_equal(lesson.misclassified([0, 1, 2, 3], [0, 2, 2, 1], k=1), [1])
    assert lesson.misclassified([1, 1], [1, 1]).size == 0


def test_decision_regions_of_a_linear_rule():
    X = np.array([[-1.0, 1.0], [-2.0, 2.0]])
    xx, yy, labels = lesson.decision_regions(lambda P: (P[0] > 0).astype(int), X, resolution=11,
                                         margin=1.0)
    assert xx.shape == yy.shape == labels.shape == (11, 11)
    assert xx.min() == -2 and xx.max() == 2 and yy.min() == -3 and yy.max() == 3
    assert np.array_equal(labels, (xx > 0).astype(int))


def test_tile_images_places_each_image_and_pads_with_nan():
    X = np.arange(2 * 4 * 3, dtype=float).reshape(3, 8).T      # 3 images of 2x4, as columns
    mosaic = lesson.tile_images(X, (2, 4), ncols=2, pad=1)
    assert mosaic.shape == (2 * 3 - 1, 2 * 5 - 1)
    assert np.array_equal(mosaic[:2, :4], X[:, 0].reshape(2, 4))
    assert np.array_equal(mosaic[:2, 5:], X[:, 1].reshape(2, 4))
    assert np.array_equal(mosaic[3:, :4], X[:, 2].reshape(2, 4))
    assert np.isnan(mosaic[2]).all() and np.isnan(mosaic[3:, 5:]).all()
    assert lesson.tile_images(X, (2, 4), ncols=10).shape == (2, 3 * 5 - 1)


def test_plots_return_axes():


    X, y = make_blobs(10, 3, rng=np.random.default_rng(9))
    ax = lesson.plot_decision_boundary(lambda P: (P[0] > 0).astype(int) + (P[1] > 0), X, y,
                                   resolution=20)
    assert ax.get_title() == "3 classes" and len(ax.collections) >= 3
    cm = lesson.confusion_matrix(y, np.roll(y, 1), 3)
    ax = lesson.plot_confusion_matrix(cm, class_names=["a", "b", "c"])
    assert f"{cm.trace()} of 30 correct" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    images = np.random.default_rng(10).random((64, 12))
    y_true, y_pred = np.arange(12) % 10, (np.arange(12) + (np.arange(12) % 3 == 0)) % 10
    ax = lesson.plot_misclassified(images, y_true, y_pred, n=3)
    assert "3 misclassified" in ax.get_title()
    assert [t.get_text() for t in ax.texts] == ["0 → 1", "3 → 4", "6 → 7"]
    assert "no misclassified" in lesson.plot_misclassified(images, y_true, y_true).get_title()
    hist = {"cost": [1.0, 0.5, 0.3], "train_acc": [0.5, 0.8, 0.9], "val_acc": [0.4, 0.7, 0.85]}
    ax = lesson.plot_learning_curve(hist)
    assert len(ax.get_legend().get_texts()) == 3
    ax = lesson.plot_probabilities([0.2, 0.8], title="p")
    assert ax.get_title() == "p" and len(ax.patches) == 2
    ax = lesson.plot_temperature([1.0, 0.0, -1.0], T=2.0)
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 5   # 3 classes, 1/C, T
    _, given = plt.subplots()
    assert lesson.plot_probabilities([1.0], given) is given
    plt.close("all")


def test_temperature_widget_builds_and_follows_the_slider():
    box = lesson.temperature_widget([2.0, 1.0, 0.1], T=1.0)
    slider, text, _ = box.children
    assert text.value == lesson.describe_temperature([2.0, 1.0, 0.1], 1.0)
    slider.value = 10.0
    assert text.value.startswith("T = 10:")
    assert slider.value == 10.0 and slider.label == "10"         # a decade from 1, exactly
    assert plt.get_fignums() == []                 # the widget closes what it draws


@pytest.mark.parametrize("T", [1.0, 0.05, 20.0, 0.3, 2.5, 7.0])
def test_temperature_widget_opens_on_exactly_the_stated_T(T):
    """The slider shows an option by its index: the browser cannot snap it to a nearby
    temperature, as a log slider from 0.05 in steps of 0.01 did (T = 1.0 showed 0.998)."""
    import ipywidgets as widgets

    slider, text, _ = lesson.temperature_widget([2.0, 1.0, 0.1], T=T).children
    assert isinstance(slider, widgets.SelectionSlider)
    assert slider._options_values[slider.index] == T == slider.value
    assert slider._options_labels[slider.index] == f"{T:.3g}"     # what the readout shows
    assert text.value.startswith(f"T = {T:.3g}:")
    plt.close("all")


def test_temperature_widget_default_is_the_one_its_signature_states():
    import inspect

    stated = inspect.signature(lesson.temperature_widget).parameters["T"].default
    slider = lesson.temperature_widget([1.0, 0.0]).children[0]
    assert slider.value == stated == 1.0 and slider.label == "1"
    plt.close("all")


def test_temperature_options_cover_the_range_evenly_on_a_log_scale():
    options = lesson.temperature_options(1.0, 0.05, 20.0)
    labels, values = zip(*options)
    assert values[0] == 0.05 and values[-1] == 20.0 and 1.0 in values
    ratios = np.diff(np.log10(values))
    assert np.median(ratios) == pytest.approx(0.01)            # a hundredth of a decade,
    assert 0.005 <= ratios.min() and ratios.max() <= 0.015     # the two at the ends too
    assert len(set(labels)) == len(labels)                     # what the readout shows
    assert labels[values.index(1.0)] == "1"
    edge = lesson.temperature_options(3.0, 2.99, 3.001)        # a step too small for 3 digits
    assert [v for _, v in edge] == [2.99, 3.0, 3.001]
    assert len({label for label, _ in edge}) == 3
    assert [v for _, v in lesson.temperature_options(0.05)][:2] == pytest.approx(
        [0.05, 0.05 * 10 ** 0.01], rel=1e-3)


def test_temperature_widget_has_a_fixed_id_and_a_placeholder_in_the_notebook():
    import ipywidgets as widgets

    from lessonlib.grader.notebook_files import learner_dir, read_notebook, solutions_dir

    first = lesson.temperature_widget([1.0, 0.0])
    assert first.model_id == lesson.WIDGET_IDS["temperature_widget"]
    again = lesson.temperature_widget([1.0, 0.0])               # the cell run again
    assert first.comm is None                                   # the old one is closed
    assert again.model_id == lesson.WIDGET_IDS["temperature_widget"] == again.comm.comm_id
    state = lesson.saved_widget_state()
    models = state["application/vnd.jupyter.widget-state+json"]["state"]
    placeholder = models[lesson.WIDGET_IDS["temperature_widget"]]
    html = widgets.HTML()
    assert (placeholder["model_name"], placeholder["model_module"],
            placeholder["model_module_version"]) == (html._model_name, html._model_module,
                                                     html._model_module_version)
    assert "Run this cell" in placeholder["state"]["value"]
    for ref in ("layout", "style"):
        assert placeholder["state"][ref].removeprefix("IPY_MODEL_") in models
    for path in (solutions_dir() / "05_softmax_regression.ipynb",
                 learner_dir() / "05_softmax_regression.ipynb"):
        nb = read_notebook(path)
        assert nb.metadata["widgets"] == state, path
        assert len([c for c in nb.cells if "temperature_widget(" in c.source]) == 1
        assert not [o for c in nb.cells for o in c.get("outputs", [])
                    if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    plt.close("all")


_Y2 = np.array([[1.0], [0.0]])


@pytest.mark.parametrize("call, exc, word", [
    (lambda: softmax.softmax(np.ones((2, 0))), ValueError, "Z"),
    (lambda: softmax.softmax(None), TypeError, "Z"),
    (lambda: softmax.softmax(np.array([[1 + 1j]])), TypeError, "Z"),
    (lambda: softmax.hardmax(np.ones(3)), ValueError, "Z"),
    (lambda: softmax.one_hot([-1, 0], 2), ValueError, "y"),
    (lambda: softmax.one_hot([[0, 1]], 2), ValueError, "y"),
    (lambda: softmax.one_hot([0.5], 2), TypeError, "y"),
    (lambda: softmax.one_hot([0], 2.0), TypeError, "C"),
    (lambda: softmax.cross_entropy_cost(np.array([[1.5], [-0.5]]), _Y2), ValueError, "Y_hat"),
    (lambda: softmax.cross_entropy_cost(np.array([[np.nan], [1.0]]), _Y2), ValueError, "Y_hat"),
    (lambda: softmax.cross_entropy_cost(np.array([[0.5], [0.5]]), np.array([[1.0], [1.0]])),
     ValueError, "Y"),
    (lambda: softmax.cross_entropy_cost(np.array([0.5, 0.5]), np.array([1.0, 0.0])), ValueError,
     "Y_hat"),
    (lambda: answers.softmax_backward(np.full((2, 1), 0.5), np.ones((3, 1)) / 3), ValueError,
     "shape"),
    (lambda: answers.softmax_backward(np.full((2, 1), 0.3), _Y2), ValueError, "Y_hat"),
    (lambda: answers.softmax_cross_entropy(np.zeros((2, 1)), np.zeros((2, 1))), ValueError, "Y"),
    (lambda: answers.softmax_cross_entropy(np.zeros((3, 1)), _Y2), ValueError, "shape"),
    (lambda: softmax.numerical_dZ(np.zeros((2, 1)), _Y2, h=0), ValueError, "h"),
    (lambda: softmax.numerical_dZ(np.zeros((2, 2)), _Y2), ValueError, "shape"),
    (lambda: activations.sigmoid("x"), TypeError, "z"),
    (lambda: lesson.softmax_with_temperature([1.0, 2.0], 0), ValueError, "T"),
    (lambda: lesson.softmax_with_temperature([1.0, 2.0], "hot"), TypeError, "T"),
    (lambda: lesson.softmax_with_temperature(np.ones((2, 2, 2)), 1.0), ValueError, "z"),
    (lambda: lesson.softmax_with_temperature([np.inf, 0.0], 1.0), ValueError, "z"),
    (lambda: lesson.temperature_curves([1.0, 2.0], [1.0, -1.0]), ValueError, "temperatures"),
    (lambda: lesson.confusion_matrix([0, 1], [0, 3], 3), ValueError, "y_pred"),
    (lambda: lesson.confusion_matrix([0, 5], [0, 1], 3), ValueError, "y_true"),
    (lambda: lesson.confusion_matrix([0, 1], [0, 1, 1], 3), ValueError, "shape"),
    (lambda: lesson.misclassified([0, 1], [0, 1], k=-1), ValueError, "k"),
    (lambda: lesson.decision_regions("net", np.zeros((2, 3))), TypeError, "predict"),
    (lambda: lesson.decision_regions(lambda P: P[0], np.zeros((3, 3))), ValueError, "X"),
    (lambda: lesson.decision_regions(lambda P: P, np.zeros((2, 3)), resolution=4), ValueError,
     "predict"),
    (lambda: lesson.tile_images(np.zeros((10, 2)), (3, 3)), ValueError, "X"),
    (lambda: lesson.plot_confusion_matrix(np.zeros((2, 3))), ValueError, "cm"),
    (lambda: lesson.plot_learning_curve({"cost": []}), ValueError, "history"),
    (lambda: lesson.plot_probabilities([0.5, 0.5], class_names=["a"]), ValueError,
     "class_names"),
    (lambda: lesson.temperature_widget([1.0, 2.0], T=100.0), ValueError, "T"),
    (lambda: lesson.temperature_widget([1.0, 2.0], T_min=0), ValueError, "T_min"),
    (lambda: lesson.train_softmax_regression(np.zeros((2, 3)), [0, 1],
                                             rng=np.random.default_rng(0)), ValueError, "y"),
    (lambda: lesson.train_softmax_regression(np.zeros((2, 2)), [0, 3], n_classes=2,
                                         rng=np.random.default_rng(0)), ValueError, "y"),
    (lambda: lesson.train_softmax_regression(np.zeros((2, 2)), [0, 1], rng=0), TypeError, "rng"),
])
def test_more_bad_input_is_named(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


def test_training_with_given_functions_matches_lessonlibs_own_loop():
    """functions=(softmax, cost, backward) replace lessonlib's (notebook 05 passes the
    learner's once they pass): the same batches, the same updates, to rounding."""
    X, y = make_blobs(20, 3, rng=np.random.default_rng(3))
    calls = []

    def cost(Y_hat, Y):
        calls.append(Y.shape)
        return softmax.cross_entropy_cost(Y_hat, Y)

    kw = dict(epochs=3, batch_size=16, learning_rate=0.5, X_val=X, y_val=y)
    _, h_ref = lesson.train_softmax_regression(X, y, rng=np.random.default_rng(4), **kw)
    _, h_own = lesson.train_softmax_regression(
        X, y, rng=np.random.default_rng(4),
        functions=(softmax.softmax, cost, answers.softmax_backward), **kw)
    assert len(calls) == 3 * 4                       # 60 examples in batches of 16
    assert np.allclose(h_ref["cost"], h_own["cost"], rtol=1e-12)
    assert h_ref["val_acc"] == h_own["val_acc"]


def test_starting_costs_start_at_ln_C_and_grow_with_the_weight_scale():
    """A scale of 0 is uniform outputs (cost ln C exactly); random weights start above ln C
    on average (Jensen: the mean of logsumexp is at least logsumexp of the mean), and ten
    times larger weights much further above."""
    X, y = make_blobs(40, 4, rng=np.random.default_rng(9))
    costs = lesson.starting_costs(X, y, [0.0, 1.0, 10.0], n_draws=20,
                                  rng=np.random.default_rng(10))
    assert costs.shape == (20, 3)
    assert np.allclose(costs[:, 0], np.log(4), rtol=0, atol=1e-12)
    assert np.log(4) < costs[:, 1].mean() < costs[:, 2].mean()
    assert costs[:, 2].mean() > 2 * np.log(4)
    ten = lesson.starting_costs(X, y, [0.0], n_classes=10, rng=np.random.default_rng(0))
    assert ten.shape == (1, 1) and np.isclose(ten[0, 0], np.log(10), rtol=0, atol=1e-12)


def test_starting_costs_use_the_networks_first_weights_and_the_given_functions():
    X, y = make_blobs(10, 3, rng=np.random.default_rng(11))
    net = Network([2, 3], rng=np.random.default_rng(12))
    want = answers.cross_entropy_from_logits(net.forward(X)[0], softmax.one_hot(y, 3))
    got = lesson.starting_costs(X, y, [1.0], rng=np.random.default_rng(12))
    assert np.isclose(got[0, 0], want, rtol=1e-12)
    seen = []

    def my_softmax(Z):
        seen.append(Z.shape)
        return softmax.softmax(Z)

    mine = lesson.starting_costs(X, y, [0.0, 1.0], rng=np.random.default_rng(12),
                                 functions=(my_softmax, lambda Y_hat, Y: 7.0))
    assert seen == [(3, 30), (3, 30)] and np.array_equal(mine, [[7.0, 7.0]])


def test_training_and_starting_costs_make_the_labels_with_the_given_one_hot():
    """one_hot= (exercise 5.2's signature) makes the (C, m) labels: notebook 05 passes the
    learner's once it passes. A correct one changes nothing; the one given is the one run."""
    X, y = make_blobs(20, 3, rng=np.random.default_rng(5))
    calls = []

    def my_one_hot(labels, C):
        calls.append((labels.shape, C))
        return np.eye(C)[labels].T

    kw = dict(epochs=2, batch_size=16, learning_rate=0.5)
    fns = (softmax.softmax, softmax.cross_entropy_cost, answers.softmax_backward)
    _, h_ref = lesson.train_softmax_regression(X, y, rng=np.random.default_rng(6),
                                               functions=fns, **kw)
    _, h_own = lesson.train_softmax_regression(X, y, rng=np.random.default_rng(6),
                                               functions=fns, one_hot=my_one_hot, **kw)
    assert calls == [((60,), 3)] and h_own["cost"] == h_ref["cost"]
    _, h_alone = lesson.train_softmax_regression(X, y, rng=np.random.default_rng(6),
                                                 one_hot=my_one_hot, **kw)
    assert len(calls) == 2 and np.allclose(h_alone["cost"], h_ref["cost"], rtol=1e-12)
    start = lesson.starting_costs(X, y, [0.0], rng=np.random.default_rng(7),
                                  one_hot=my_one_hot)
    assert len(calls) == 3 and np.isclose(start[0, 0], np.log(3))


@pytest.mark.parametrize("bad, exc, words", [
    (lambda labels, C: np.eye(C)[labels], ValueError, "one_hot must return an array of shape"),
    ("eye", TypeError, "one_hot must be None or a function"),
])
def test_a_bad_one_hot_is_named(bad, exc, words):
    X, y = make_blobs(5, 3, rng=np.random.default_rng(8))
    with pytest.raises(exc, match=words):
        lesson.train_softmax_regression(X, y, epochs=1, one_hot=bad,
                                        rng=np.random.default_rng(0))
    with pytest.raises(exc, match=words):
        lesson.starting_costs(X, y, [1.0], one_hot=bad, rng=np.random.default_rng(0))

