"""The machinery of the bad-input tables (one ``test_bad_input.py`` per floor of lessonlib).

The workbook's convention: bad input gets a ``ValueError`` or ``TypeError`` naming the
argument, what was expected and what came, never a silent NaN or an obscure numpy
traceback. Each floor's table is a list ``BAD`` of ``(call, exception type, argument name)``
rows: the call must raise exactly that type, with the argument's name as a word in the
message, and without a numpy ``RuntimeWarning`` on the way (a warning means the bad value
reached the arithmetic). ``assert_covered`` keeps each table complete: a new public function
or class in the floor's modules fails it until it gets a row or an entry (with its reason)
in the floor's ``EXEMPT``. ``EXTREME`` lists inputs that are extreme but valid and must
give finite results. Below: the rows' constructors, the checks, and small valid inputs the
tables share.
"""

import inspect
import re
import warnings

import numpy as np
import pytest

from lessonlib import network
from lessonlib.layers import batchnorm, softmax
from lessonlib.optim import Optimizer
from lessonlib.search import spaces

NAN, INF = float("nan"), float("inf")


def bad(name, what, call, exc, word):
    """A row of ``BAD``: ``name`` is ``module.function`` (or ``module.Class.method``)."""
    return pytest.param(call, exc, word, id=f"{name}: {what}")


def ok(name, what, call, check=None):
    """A row of ``EXTREME``: ``call()`` must give finite results (and pass ``check``)."""
    return pytest.param(call, check, id=f"{name}: {what}")


def public_callables(modules) -> set[str]:
    """``module.name`` of every function and class defined in ``modules``, name not ``_``."""
    names = set()
    for mod in modules:
        short = mod.__name__.rsplit(".", 1)[1]
        for name, obj in inspect.getmembers(mod, lambda o: inspect.isfunction(o)
                                            or inspect.isclass(o)):
            if not name.startswith("_") and obj.__module__ == mod.__name__:
                names.add(f"{short}.{name}")
    return names


def covered(rows) -> set[str]:
    """``module.name`` of every row (a method's row covers its class too)."""
    return {".".join(row.id.split(":", 1)[0].split(".")[:2]) for row in rows}


def assert_covered(modules, rows, exempt) -> None:
    """Every public callable of ``modules`` has a row or an exemption, and nothing else."""
    public, done = public_callables(modules), covered(rows)
    missing = sorted(public - done - set(exempt))
    assert not missing, f"public callables with no bad-input row and no EXEMPT entry: {missing}"
    stale = sorted((done | set(exempt)) - public)
    assert not stale, f"rows or exemptions for names that are not public callables: {stale}"
    both = sorted(done & set(exempt))
    assert not both, f"exempt yet covered (drop the exemption): {both}"
    ids = [row.id for row in rows]
    assert len(ids) == len(set(ids)), "two rows share an id"


def assert_named_error(call, exc, word) -> None:
    """``call()`` raises exactly ``exc`` naming ``word``, with no RuntimeWarning first."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)       # NaN arithmetic on the way
        with pytest.raises((ValueError, TypeError)) as info:
            call()
    err = info.value
    assert type(err) is exc, f"expected {exc.__name__}, got {type(err).__name__}: {err}"
    assert re.search(rf"(?<!\w){re.escape(word)}(?!\w)", str(err)), \
        f"the message does not name {word!r}: {err}"


def all_finite(value) -> bool:
    if isinstance(value, dict):
        return all(all_finite(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return all(all_finite(v) for v in value)
    if isinstance(value, network.Network):
        return all(all_finite(p) for p in value.params.values())
    if isinstance(value, (bool, np.bool_)) or value is None:
        return True
    arr = np.asarray(value)
    return not np.issubdtype(arr.dtype, np.number) or bool(np.all(np.isfinite(arr)))


def assert_finite(call, check) -> None:
    """``call()`` gives finite results without overflow or 0/0 (and passes ``check``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)       # no overflow, no 0/0
        result = call()
    assert all_finite(result), f"non-finite result: {result}"
    if check is not None:
        assert check(result)


def table_tests(modules, bad_rows, exempt, extreme_rows):
    """The three tests of a floor's table, for its module to bind to ``test_*`` names: the
    table is complete, every ``BAD`` row gets its named error, every ``EXTREME`` row stays
    finite."""
    def test_every_public_callable_is_covered():
        assert_covered(modules, bad_rows, exempt)

    @pytest.mark.parametrize("call, exc, word", bad_rows)
    def test_bad_input_gets_a_named_error(call, exc, word):
        assert_named_error(call, exc, word)

    @pytest.mark.parametrize("call, check", extreme_rows)
    def test_extreme_but_valid_input_stays_finite(call, check):
        assert_finite(call, check)

    return (test_every_public_callable_is_covered, test_bad_input_gets_a_named_error,
            test_extreme_but_valid_input_stays_finite)


# ------------------------------------------------------------------ small valid inputs

def R(seed=0):
    return np.random.default_rng(seed)


def with_nan(a, value=NAN):
    a = np.array(a, dtype=float)
    a.flat[0] = value
    return a


Z34 = np.array([[1.0, 2, 3, 4], [0, -1, 2, 1], [3, 3, -2, 0]])      # logits (C=3, m=4)
y4 = np.array([0, 1, 2, 0])
Y34 = softmax.one_hot(y4, 3)
P34 = softmax.softmax(Z34)
X46 = R(1).standard_normal((4, 6))                                 # (n_x=4, m=6)
y6 = np.array([0, 1, 2, 0, 1, 2])
ONES3, ZEROS3 = np.ones((3, 1)), np.zeros((3, 1))
_, CACHE = batchnorm.batchnorm_forward(Z34, ONES3, ZEROS3)
STRINGS = np.array([["a", "b"], ["c", "d"]])
OBJECTS = np.array([[1.0, None], [2.0, 3.0]], dtype=object)
COMPLEX = np.ones((3, 4)) + 1j
X2 = R(2).standard_normal((2, 8))                                  # 2-D points
y8 = np.array([0, 1] * 4)
BIG = np.array([[1e4, -1e4, 0.0, 1e4], [-1e4, 1e4, 0.0, 1e4], [0.0, 0.0, 1e4, -1e4]])
CONST = np.vstack([np.full(5, 3.0), np.arange(5.0), np.full(5, -1e4)])   # units 0, 2 constant
P_ZEROS = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 0.0]])   # exact zeros
Y_ZEROS = softmax.one_hot([0, 1, 2], 3)                                # class 2 gets p = 0
SPACE = {"learning_rate": spaces.LogUniform(1e-3, 1.0), "units": spaces.IntUniform(2, 8)}
RESULTS = [{"params": {"learning_rate": 0.01 * (i + 1), "units": 2 + i}, "score": i / 10}
           for i in range(5)]
BOX = ([0.0, 0.0], [1.0, 1.0])


def net(**kw):
    return network.Network([4, 5, 3], rng=R(), **kw)


def bn_net():
    return network.Network([4, 5, 3], batch_norm=True, rng=R())


def layer(**kw):
    return batchnorm.BatchNorm(3, **kw)


def stats(var=1.0):
    return {1: (np.zeros((5, 1)), np.full((5, 1), var))}


def grads_of(net_):
    return net_.gradients(X46, y6)[1]


def one_score(params, *, rng):
    return 0.5


def trained_on_constant_input():
    net_ = network.Network([4, 5, 3], batch_norm=True, rng=R())
    network.train_epochs(net_, Optimizer("adam", 0.01), np.ones((4, 6)), y6, epochs=2,
                         batch_size=3, rng=R())
    return net_
