"""lessonlib.grader.oracle: the reference answers live, recorded and replayed."""

import json
import math
import re
import time
from collections import namedtuple

import numpy as np
import pytest

from lessonlib.grader import oracle

X = np.linspace(-2.0, 3.0, 12).reshape(3, 4)


def double(x, *, k=2.0):
    return k * x


def total_of(ref, x):
    """A derived answer: a computation of a check's own over the references."""
    return float(np.sum(ref.double(x)))


def recorded(*calls):
    """A ``Replay`` of the calls made on a ``Recorder``: ``calls(recorder)``."""
    recorder = oracle.Recorder(oracle.Live({"double": double}))
    for call in calls:
        call(recorder)
    return oracle.Replay(recorder.calls, "the test's data")


def test_the_namespace_holds_every_exercises_answer_and_the_softmax_gradient():
    """The derived answers come from the instructor side, the forward passes the lecture
    states from lessonlib (its stand-ins); the stand-ins by autodiff are not references."""
    from lessonlib.grader.exercises import EXERCISES
    ns = oracle.reference_namespace()
    for e in EXERCISES.values():
        if not e.is_question:
            assert callable(getattr(ns, e.function)), e.id
    derived = ("chance_at_least_one", "shrink_box", "batchnorm_backward",
               "batchnorm_backward_graph", "recover_gamma_beta", "linear_bn_backward",
               "softmax_jacobian", "softmax_backward", "cross_entropy_from_logits",
               "make_search_space", "fold_batchnorm", "layernorm_backward")
    for name in derived:
        assert getattr(ns, name).__module__.startswith("lessonlib_instructor.answers"), name
    from tests.grader.common import marked_functions
    for path, fn in marked_functions().items():            # lessonlib's own stand-ins
        name = path.rsplit(":", 1)[1]
        if name in {e.function for e in EXERCISES.values()} and name not in derived:
            assert getattr(ns, path.rsplit(":", 1)[1]) is fn, path
    assert ns.numerical_dZ.__module__ == "lessonlib.layers.softmax"
    with pytest.raises(AttributeError, match="no reference answer 'nothing'"):
        ns.nothing  # noqa: B018 - the lookup itself is what raises


def test_a_replayed_call_matches_within_a_tight_tolerance_only():
    replay = recorded(lambda r: r.double(X), lambda r: r.double(X, k=3.0))
    assert np.array_equal(replay.double(X), 2 * X)
    assert np.array_equal(replay.double(X * (1 + 1e-14)), 2 * X)     # the last bits differ
    assert np.array_equal(replay.double(X, k=3.0), 3 * X)
    for other in (X * (1 + 1e-9), X.astype(np.float32), X.reshape(4, 3), X.tolist(),
                  X[:2]):
        with pytest.raises(oracle.CheckDataError):
            replay.double(other)
    with pytest.raises(oracle.CheckDataError):
        replay.double(X, k=4.0)
    with pytest.raises(oracle.CheckDataError):
        replay.double(X, k=3)                    # an int is not the float that was recorded


def test_types_structure_and_non_finite_values_must_match():
    want = (1.5, np.float64(1.5), 2, "a", None, True, [1.0], {"k": np.array([np.nan, np.inf])})
    decoded = oracle.decode(oracle.encode(want))
    assert oracle.matches(want, decoded)
    assert oracle.matches(want[:-1] + ({"k": np.array([np.nan, np.inf])},), decoded)
    for changed in [(np.float64(1.5),) + want[1:], (1.5, 1.5) + want[2:],
                    want[:2] + (2.0,) + want[3:], want[:6] + ((1.0,),) + want[7:],
                    want[:7] + ({"k": np.array([np.inf, np.nan])},),
                    want[:7] + ({"j": np.array([np.nan, np.inf])},), list(want)]:
        assert not oracle.matches(changed, decoded), changed
    Pair = namedtuple("Pair", "a b")
    assert oracle.matches(Pair(1, 2), oracle.decode(oracle.encode((1, 2))))


def test_a_miss_names_the_function_the_data_and_what_to_run():
    replay = recorded(lambda r: r.double(X))
    with pytest.raises(oracle.CheckDataError) as err:
        replay.double(np.zeros(5), k=1.0)
    message = str(err.value)
    assert "the test's data has no expected output for double(array (5,) float64, k=1.0)" \
        in message
    assert "python -m lessonlib release" in message
    with pytest.raises(oracle.CheckDataError, match="for never_recorded"):
        replay.never_recorded(1)


def test_a_replayed_answer_is_a_fresh_copy():
    replay = recorded(lambda r: r.double(X))
    first = replay.double(X)
    first[...] = 0.0
    assert np.array_equal(replay.double(X), 2 * X)


def test_hostile_arguments_are_plain_misses():
    replay = recorded(lambda r: r.double(X))

    class Hostile:
        def __eq__(self, other):
            raise RuntimeError("no comparing me")

        def __repr__(self):
            raise RuntimeError("no describing me")

        __hash__ = object.__hash__

    looped = []
    looped.append(looped)
    start = time.perf_counter()
    for arg in (np.zeros(10 ** 7), np.zeros((3, 4), dtype=object), Hostile(), object(),
                lambda: 1, (x for x in range(3)), looped, {"x": Hostile()},
                {Hostile(): 1}):
        with pytest.raises(oracle.CheckDataError):
            replay.double(arg)
    assert time.perf_counter() - start < 1.0     # a huge array is told apart by its shape


def test_the_recorder_returns_the_live_result_and_keeps_each_distinct_call_once():
    recorder = oracle.Recorder(oracle.Live({"double": double}))
    out = recorder.double(X)
    assert np.array_equal(out, 2 * X)
    recorder.double(X)
    recorder.double(X, k=3.0)
    assert [c["name"] for c in recorder.calls] == ["double", "double"]
    assert json.loads(json.dumps(recorder.calls)) == recorder.calls      # plain data
    with pytest.raises(TypeError, match="not plain data"):
        recorder.double(lambda: 1)


def test_a_derived_answer_is_recorded_as_one_call_and_replayed():
    recorder = oracle.Recorder(oracle.Live({"double": double}))
    assert recorder.derived(total_of, X) == oracle.Live({"double": double}).derived(total_of, X)
    assert [c["name"] for c in recorder.calls] == ["total_of"]
    replay = oracle.Replay(recorder.calls, "the test's data")
    assert replay.derived(total_of, X) == pytest.approx(2 * X.sum())
    with pytest.raises(oracle.CheckDataError, match="double"):
        replay.double(X)                    # the calls inside were not recorded
    def nested(ref, x):
        return x

    for not_named in (lambda ref, x: x, nested, "total_of"):
        with pytest.raises(TypeError, match="module-level function"):
            recorder.derived(not_named, X)


def test_values_round_trip_exactly():
    Pair = namedtuple("Pair", "a b")
    values = [None, True, 2 ** 70, -0.0, math.inf, 0.1, "π", np.float32(0.1), np.int64(-3),
              np.bool_(True), np.arange(6, dtype=np.int8).reshape(2, 3),
              np.array([[0.1, np.nan]], dtype=np.float32), np.zeros((0, 3)), np.array(2.5),
              np.asfortranarray(X), X[:, ::2], X.astype(">f8"), [1, (2.0, {3: "x"})],
              {"a": [], (1, 2): X}]
    for v in values:
        back = oracle.decode(json.loads(json.dumps(oracle.encode(v))))
        if isinstance(v, (np.ndarray, np.generic)):       # in this machine's byte order
            assert back.dtype == v.dtype.newbyteorder("=") and back.shape == v.shape, v
            assert np.array_equal(back, v, equal_nan=True), v
        else:
            assert oracle.matches(v, back), v
    assert math.copysign(1, oracle.decode(oracle.encode(-0.0))) == -1
    assert oracle.decode(oracle.encode(Pair(1, X)))[1].flags.writeable
    assert type(oracle.decode(oracle.encode(Pair(1, 2)))) is tuple
    for bad in (np.zeros(2, dtype=object), np.zeros(2, dtype=complex), len, iter([]), {1},
                np.random.default_rng(0)):
        with pytest.raises(TypeError, match="not plain data"):
            oracle.encode(bad)


def test_a_data_file_is_deterministic_and_stores_a_repeated_array_once():
    recorder = oracle.Recorder(oracle.Live({"double": double}))
    recorder.double(X)                           # X in, 2 X out
    recorder.double(2 * X, k=1.0)                # 2 X in and out: stored once
    text = oracle.dumps("99_test", recorder.calls)
    assert text == oracle.dumps("99_test", recorder.calls)
    head, rest = text.split("\n", 1)
    assert oracle.GENERATED in head and '"notebook": "99_test"' in head
    assert len(json.loads(text)["arrays"]) == 2
    assert oracle.loads(text, "f") == json.loads(json.dumps(recorder.calls))
    for broken in ("", "{}", text.replace('"format": 1', '"format": 0'),
                   text.replace('"pooled":1', '"pooled":7'), '{"calls": 3}'):
        with pytest.raises(oracle.CheckDataError, match="cannot be read as check data"):
            oracle.loads(broken, "the file f")


def test_replay_for_reads_the_notebook_folder_first_then_the_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    checkout = oracle.replay_for("05_softmax_regression")        # none here: the checkout's
    assert checkout.one_hot([0, 0], 2).shape == (2, 2)
    recorder = oracle.Recorder(oracle.Live({"double": double}))
    recorder.double(X)
    path = oracle.data_path(tmp_path, "05_softmax_regression")
    path.parent.mkdir()
    path.write_text(oracle.dumps("05_softmax_regression", recorder.calls))
    here = oracle.replay_for("05_softmax_regression")
    assert np.array_equal(here.double(X), 2 * X)
    with pytest.raises(oracle.CheckDataError, match=re.escape(str(path))):
        here.one_hot([0, 0], 2)
    nowhere = oracle.replay_for("99_none")       # a check that asks nothing needs no data
    with pytest.raises(oracle.CheckDataError, match="no check data for notebook 99_none"):
        nowhere.double(X)


def test_without_the_instructor_side_a_check_needing_no_derived_answer_still_runs():
    """A learner's machine: lessonlib's own references answer, a derived one says why not."""
    import subprocess
    import sys
    code = ("import sys\nsys.modules['lessonlib_instructor'] = None\n"
            "from lessonlib.grader import oracle, instructor\n"
            "ns = oracle.reference_namespace()\n"
            "print(ns.softmax.__name__)\n"
            "try:\n    ns.softmax_backward\nexcept instructor.InstructorSideMissing as e:\n"
            "    print('missing:', e)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "softmax"
    assert lines[1].startswith("missing: no reference answer 'softmax_backward' here")
    assert "requirements-instructor.txt" in lines[1]
