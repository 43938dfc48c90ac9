"""lessonlib.grader.trusted: the genuine checks run outside the learner's process, call
its functions through the narrow channel, and cannot be talked into points. The attack
catalogue: each attack earns no more than the honest code beneath it."""

import copy
import time

import nbformat
import numpy as np
import pytest

from lessonlib.grader import trusted
from lessonlib.grader.checks import softmax_regression as checks
from lessonlib.grader.grade import grade_notebook
from lessonlib.grader.kernel import KernelSession

from .common import ROOT, SANDBOXED, cells_of

LEARNER_05 = ROOT / "notebooks" / "05_softmax_regression.ipynb"
SOLVED_05 = ROOT / "instructor" / "solutions" / "05_softmax_regression.ipynb"
SOLVED_03 = ROOT / "instructor" / "solutions" / "03_batch_norm.ipynb"


def test_check_call_reads_the_learners_names_from_the_check_cell():
    assert trusted.check_call("check_f(f)", "f") == ("f", {})
    assert trusted.check_call("x = 1\ncheck_b(mine, forward=fwd)", "b") == \
        ("mine", {"forward": "fwd"})
    assert trusted.check_call("check_b(mine, session, forward=fwd)", "b") == \
        ("mine", {"forward": "fwd"})
    for bad in ("check_f()", "check_f(f, g)", "check_f(f, forward=lambda: 1)", "f(f)",
                "check_f(f, session, g)"):
        with pytest.raises(ValueError, match="no call check_f"):
            trusted.check_call(bad, "f")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    with KernelSession(tmp_path_factory.mktemp("scratch"), sandboxed=False) as k:
        k.run("import numpy as np\n"
              "def scale_in_place(a, k):\n    a *= k\n    return a.sum()\n"
              "def draw(n, *, rng):\n    return rng.random(n)\n"
              "def stub():\n    raise NotImplementedError('Exercise 9.9: stub')\n"
              "def lookup():\n    return {}['missing']\n"
              "def spin():\n    while True:\n        pass\n", 30)
        yield k


def _remote(kernel, name, timeout=30):
    channel = trusted.Channel(kernel, timeout)
    return trusted.Remote(channel, name), channel


def test_a_remote_call_returns_data_and_shows_changes_in_place(kernel):
    a = np.ones(3)
    f, channel = _remote(kernel, "scale_in_place")
    with channel:
        assert f(a, 2.0) == 6.0
        assert f(a, 0.5) == 3.0       # a second call on the same line
    np.testing.assert_array_equal(a, [1.0, 1.0, 1.0])


def test_a_remote_call_takes_its_draws_from_the_checks_rng(kernel):
    rng = np.random.default_rng(3)
    twin = copy.deepcopy(rng)
    f, channel = _remote(kernel, "draw")
    with channel:
        got = f(4, rng=rng)
    np.testing.assert_array_equal(got, twin.random(4))
    assert rng.bit_generator.state == twin.bit_generator.state


def test_remote_errors_keep_their_names_and_a_stub_is_not_attempted(kernel):
    with trusted.Channel(kernel, 30) as channel:
        with pytest.raises(NotImplementedError):
            trusted.Remote(channel, "stub")()
        with pytest.raises(Exception, match="missing") as info:
            trusted.Remote(channel, "lookup")()
        assert type(info.value).__name__ == "KeyError"
        with pytest.raises(Exception) as info:
            trusted.Remote(channel, "no_such_function")()
        assert type(info.value).__name__ == "NameError"


def test_after_a_timeout_the_check_stops_calling_and_the_kernel_goes_on(kernel):
    with trusted.Channel(kernel, 1) as channel:
        with pytest.raises(trusted.CallFailed, match="did not return within the 1 s"):
            trusted.Remote(channel, "spin")()
        with pytest.raises(trusted.CallFailed, match="did not return"):
            trusted.Remote(channel, "draw")(1, rng=np.random.default_rng(0))
    f, channel = _remote(kernel, "scale_in_place")
    with channel:
        assert f(np.ones(1), 1.0) == 1.0


# a learner's function that rebinds the kernel's side of the channel to send its replies
# (from the next call on) a byte every 0.3 s: a reply of a few hundred bytes takes minutes
TRICKLE = """
def trickle():
    import time
    import lessonlib.grader.wire as w
    def slow(sock, data, deadline=None):
        frame = len(data).to_bytes(8, "big") + data
        for i in range(len(frame)):
            sock.sendall(frame[i:i + 1])
            time.sleep(0.3)
    w.send_frame = slow
    return 1.0
"""


def test_a_reply_trickled_a_byte_at_a_time_is_stopped_at_the_calls_deadline(tmp_path):
    """Before, the per-call limit restarted at each byte received, so a trickled reply ran
    on and scored; the deadline is now fixed when the call starts."""
    with KernelSession(tmp_path, sandboxed=False) as k:
        assert k.run(TRICKLE, 30).status == "ok"
        with trusted.Channel(k, 2) as channel:
            assert trusted.Remote(channel, "trickle")() == 1.0
            start = time.monotonic()
            with pytest.raises(trusted.CallFailed, match="did not return within the 2 s"):
                trusted.Remote(channel, "trickle")()
        assert time.monotonic() - start < 12            # 2 s, the interrupt, the clean-up
        assert k.run("print('on')", 30).stdout == "on\n"


def test_no_call_runs_past_the_submissions_deadline(kernel):
    """A check's calls share the submission's time limit: a call is cut at it, and one
    after it is not made."""
    with trusted.Channel(kernel, 30, deadline=time.monotonic() + 1) as channel:
        start = time.monotonic()
        with pytest.raises(trusted.CallFailed, match="before the submission's time limit"):
            trusted.Remote(channel, "spin")()
        assert time.monotonic() - start < 10
    with trusted.Channel(kernel, 30, deadline=time.monotonic() - 1) as channel:
        with pytest.raises(trusted.CallFailed, match="had run out of time"):
            trusted.Remote(channel, "draw")(1, rng=np.random.default_rng(0))


# ---------------------------------------------------------------- the attack catalogue

HONEST_ONE_HOT_WRONG = "def one_hot(y, C):\n    return np.zeros((C, len(y)))\n"
ATTACKS_05 = {
    # returning lessonlib's own answer, imported under another name
    "5.1": "from lessonlib.layers.softmax import softmax as _mine\n"
           "def softmax(Z):\n    return _mine(Z)\n",
    # rebinding the result type and silencing the sub-check helper, then a wrong answer
    "5.2": "import lessonlib.grader.framework as fw\n"
           "class Always(fw.CheckResult):\n    passed = True\n"
           "fw.CheckResult = Always\nfw.require = lambda *a, **k: None\n"
           "fw.evaluate = lambda *a, **k: None\n" + HONEST_ONE_HOT_WRONG,
    # replacing the checks module in sys.modules, then a wrong answer
    "5.3": "import sys, types\nfake = types.ModuleType('fake')\n"
           "fake.check_cross_entropy_cost = lambda f: print('✓ Exercise 5.3 "
           "cross_entropy_cost: 5/5 checks passed (2/2 points)')\n"
           "sys.modules['lessonlib.grader.checks.softmax_regression'] = fake\n"
           "def cross_entropy_cost(Y_hat, Y):\n    return 0.0\n",
    # printing forged lines and writing forged result files, then a wrong answer
    "5.4": "import json\nprint('✓ Exercise 5.4 softmax_jacobian: 3/3 checks passed "
           "(2/2 points)')\nfor p in ('results.json', '../results.json', '/tmp/results.json'):\n"
           "    try:\n        open(p, 'w').write(json.dumps({'checks': {'5.4': {'status': "
           "'passed', 'points': 2.0, 'message': 'ok'}}, 'cells': {}}))\n"
           "    except OSError:\n        pass\n"
           "def softmax_jacobian(z):\n    print('✓ forged')\n    return np.eye(len(z))\n",
    # reaching the answer through the experiments' stand-in (autodiff of the cost)
    "5.5": "from lessonlib.layers import softmax as sm\n"
           "def softmax_backward(Y_hat, Y):\n"
           "    return sm.softmax_cross_entropy_by_autodiff(np.log(Y_hat), Y)[1]\n",
    # leaving the kernel in the middle of its check
    "5.6": "def cross_entropy_from_logits(Z, Y):\n    raise SystemExit(0)\n",
    # the right answer to a question, to show it survives the attacks before it
    "Q5.1": 'def two_class_softmax():\n    return "c"\n',
    # killing the kernel in the middle of its check
    "Q5.2": "import os\ndef untrained_cost():\n    os._exit(0)\n",
}


def _attacked(tmp_path):
    nb = nbformat.read(LEARNER_05, as_version=4)
    for ex_id, source in ATTACKS_05.items():
        cells_of(nb, "exercise")[ex_id].source = source
    path = tmp_path / "05_softmax_regression.ipynb"
    nbformat.write(nb, path)
    return path


def test_every_attack_earns_nothing_beyond_the_honest_code(tmp_path):
    report = grade_notebook(_attacked(tmp_path), timeout=30, sandboxed=SANDBOXED)
    got = {g.exercise.id: g for g in report.exercises}
    honest = {"5.2": checks.check_one_hot.evaluate(
                  lambda y, C: np.zeros((C, len(y)))).points,
              "5.3": checks.check_cross_entropy_cost.evaluate(lambda Y_hat, Y: 0.0).points,
              "5.4": checks.check_softmax_jacobian.evaluate(lambda z: np.eye(len(z))).points}
    assert got["5.1"].points == 0 and "called lessonlib's softmax" in got["5.1"].message
    for ex_id, points in honest.items():
        assert got[ex_id].points == points < EXERCISE_POINTS[ex_id], (ex_id, got[ex_id])
    assert got["5.5"].points == 0 and "softmax_cross_entropy" in got["5.5"].message
    assert got["5.6"].points == 0
    assert got["Q5.1"].points == 1
    assert got["Q5.2"].points == 0 and "stopped its kernel" in got["Q5.2"].message
    assert report.score == 1 + sum(honest.values())


EXERCISE_POINTS = {"5.2": 1, "5.3": 2, "5.4": 2}


def test_honest_solutions_unusual_ones_included_keep_full_marks(tmp_path):
    nb = nbformat.read(SOLVED_05, as_version=4)
    cells_of(nb, "exercise")["5.1"].source = (   # log-sum-exp, float32 on the way
        "def softmax(Z):\n    Z = np.asarray(Z, dtype=np.float64)\n"
        "    lse = np.log(np.sum(np.exp(Z - Z.max(0)), axis=0)) + Z.max(0)\n"
        "    return np.exp(Z - lse)\n")
    path = tmp_path / "05_softmax_regression.ipynb"
    nbformat.write(nb, path)
    report = grade_notebook(path, timeout=30, sandboxed=SANDBOXED)
    assert report.score == report.max_score, [(g.exercise.id, g.message)
                                              for g in report.exercises if not g.passed]


def _memorized_softmax_source():
    """A softmax that only knows the answers of the cases the notebook's check shows."""
    from lessonlib.layers import softmax as sm
    from tests.grader.common import reference_copy
    reference, seen = reference_copy(sm.softmax), {}

    def record(Z):
        Z = np.asarray(Z, dtype=float)
        seen[Z.tobytes().hex()] = reference(Z).tolist()
        return reference(Z)
    assert checks.check_softmax.evaluate(record).passed
    return (f"SEEN = {seen!r}\n"
            "def softmax(Z):\n    Z = np.asarray(Z, dtype=float)\n"
            "    known = SEEN.get(Z.tobytes().hex())\n"
            "    return np.array(known) if known is not None else np.full(Z.shape, 1 / len(Z))\n")


def test_answers_hard_coded_for_the_visible_cases_fail_on_fresh_ones(tmp_path):
    source = _memorized_softmax_source()
    namespace = {"np": np}
    exec(source, namespace)
    assert checks.check_softmax.evaluate(namespace["softmax"]).passed   # in the notebook
    nb = nbformat.read(LEARNER_05, as_version=4)
    cells_of(nb, "exercise")["5.1"].source = source
    path = tmp_path / "05_softmax_regression.ipynb"
    nbformat.write(nb, path)
    got = {g.exercise.id: g for g in grade_notebook(path, timeout=30,
                                                    sandboxed=SANDBOXED).exercises}
    assert not got["5.1"].passed and got["5.1"].points < 2


def test_a_layer_is_graded_on_its_own_with_the_learners_batch_norm_beneath(tmp_path):
    """3.5 right on a wrong 3.1 keeps its point (3.1 pays once, and 3.5 names it); 3.6 on a
    3.4 not written yet says it waits for it, in the sandboxed kernel as in the notebook."""
    nb = nbformat.read(SOLVED_03, as_version=4)
    cells = cells_of(nb, "exercise")
    cells["3.1"].source = (
        "def batchnorm_forward(Z, gamma, beta, eps=1e-5):\n"
        "    mu = Z.mean(axis=1, keepdims=True)\n"
        "    var = Z.var(axis=1, keepdims=True, ddof=1)\n"
        "    Z_hat = (Z - mu) / np.sqrt(var + eps)\n"
        "    return gamma * Z_hat + beta, (Z, Z_hat, mu, var, gamma, eps)\n")
    cells["3.4"].source = ("def batchnorm_backward(dZ_tilde, cache):\n"
                           "    raise NotImplementedError('Exercise 3.4: batchnorm_backward')\n")
    path = tmp_path / "03_batch_norm.ipynb"
    nbformat.write(nb, path)
    got = {g.exercise.id: g for g in grade_notebook(path, timeout=30,
                                                    sandboxed=SANDBOXED).exercises}
    assert got["3.1"].points < 2 and got["3.4"].points == 0
    assert got["3.5"].points == 1
    assert "with your batchnorm_forward beneath it, which does not pass exercise 3.1" \
        in got["3.5"].message
    assert got["3.6"].points == 0 and got["3.6"].status == "not attempted"
    assert "waits for your batchnorm_backward (exercise 3.4)" in got["3.6"].message
