"""Bad input in lessonlib.core: every public callable answers it with a named error.

The table's rules and the shared inputs are in ``tests/bad_input.py``.
"""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from lessonlib.core import (  # noqa: E402
    bars,
    data,
    gradcheck,
    memory,
    paths,
    stand_ins,
    threads,
    validate,
)
from lessonlib.layers.batchnorm import (  # noqa: E402
    batchnorm_backward_by_autodiff,
    batchnorm_forward,
)
from tests.bad_input import (  # noqa: E402
    COMPLEX,
    INF,
    NAN,
    OBJECTS,
    STRINGS,
    R,
    bad,
    ok,
    table_tests,
    with_nan,
)

MODULES = (data, gradcheck, validate, bars, threads, memory, stand_ins, paths)

# a batch-norm pair for batchnorm_gradcheck's rows (each fails before calling them)
FORWARD, BACKWARD = batchnorm_forward, batchnorm_backward_by_autodiff

BAD = [
    bad("data.load_digits", "val_fraction=1", lambda: data.load_digits(val_fraction=1),
        ValueError, "val_fraction"),
    bad("data.load_digits", "val_fraction nan", lambda: data.load_digits(val_fraction=NAN),
        ValueError, "val_fraction"),
    bad("data.load_digits", "test_fraction a string",
        lambda: data.load_digits(test_fraction="0.2"), TypeError, "test_fraction"),
    bad("data.load_digits", "fractions summing to 1",
        lambda: data.load_digits(val_fraction=0.5, test_fraction=0.5), ValueError,
        "val_fraction"),
    bad("data.load_digits", "dtype int32", lambda: data.load_digits(dtype=np.int32),
        TypeError, "dtype"),
    bad("data.load_digits", "dtype not a dtype", lambda: data.load_digits(dtype="banana"),
        TypeError, "dtype"),
    bad("data.make_blobs", "n_per_class=0", lambda: data.make_blobs(0, rng=R()),
        ValueError, "n_per_class"),
    bad("data.make_blobs", "n_per_class float", lambda: data.make_blobs(2.5, rng=R()),
        TypeError, "n_per_class"),
    bad("data.make_blobs", "one class", lambda: data.make_blobs(5, 1, rng=R()),
        ValueError, "n_classes"),
    bad("data.make_blobs", "negative spread", lambda: data.make_blobs(5, spread=-1, rng=R()),
        ValueError, "spread"),
    bad("data.make_blobs", "infinite radius",
        lambda: data.make_blobs(5, radius=INF, rng=R()), ValueError, "radius"),
    bad("data.make_blobs", "rng None", lambda: data.make_blobs(5, rng=None),
        TypeError, "rng"),
    bad("data.make_blobs", "rng an int seed", lambda: data.make_blobs(5, rng=0),
        TypeError, "rng"),
    bad("data.make_spirals", "turns=0", lambda: data.make_spirals(5, turns=0, rng=R()),
        ValueError, "turns"),
    bad("data.make_spirals", "noise nan", lambda: data.make_spirals(5, noise=NAN, rng=R()),
        ValueError, "noise"),
    bad("data.make_spirals", "n_per_class a string",
        lambda: data.make_spirals("10", rng=R()), TypeError, "n_per_class"),
    bad("data.make_spirals", "legacy RandomState",
        lambda: data.make_spirals(5, rng=np.random.RandomState(0)), TypeError, "rng"),

    bad("gradcheck.numerical_gradient", "f not callable",
        lambda: gradcheck.numerical_gradient(None, np.ones(3)), TypeError, "f"),
    bad("gradcheck.numerical_gradient", "h=0",
        lambda: gradcheck.numerical_gradient(np.sum, np.ones(3), h=0), ValueError, "h"),
    bad("gradcheck.numerical_gradient", "h nan",
        lambda: gradcheck.numerical_gradient(np.sum, np.ones(3), h=NAN), ValueError, "h"),
    bad("gradcheck.numerical_gradient", "x with nan (a list)",
        lambda: gradcheck.numerical_gradient(np.sum, [NAN, 1.0]), ValueError, "x"),
    bad("gradcheck.numerical_gradient", "x float64 with inf",
        lambda: gradcheck.numerical_gradient(np.sum, with_nan(np.ones(3), INF)),
        ValueError, "x"),
    bad("gradcheck.numerical_gradient", "x strings",
        lambda: gradcheck.numerical_gradient(np.sum, STRINGS), TypeError, "x"),
    bad("gradcheck.numerical_gradient", "x complex",
        lambda: gradcheck.numerical_gradient(np.sum, COMPLEX), TypeError, "x"),
    bad("gradcheck.numerical_gradient", "f returns nan",
        lambda: gradcheck.numerical_gradient(lambda x: NAN, np.ones(2)), ValueError, "f"),
    bad("gradcheck.numerical_gradient", "f returns a string",
        lambda: gradcheck.numerical_gradient(lambda x: "a", np.ones(2)), TypeError, "f"),
    bad("gradcheck.numerical_gradient", "f returns an array",
        lambda: gradcheck.numerical_gradient(lambda x: x, np.ones(2)), TypeError, "f"),
    bad("gradcheck.relative_error", "shapes differ",
        lambda: gradcheck.relative_error(np.ones(3), np.ones(4)), ValueError, "a"),
    bad("gradcheck.batchnorm_gradcheck", "forward not callable",
        lambda: gradcheck.batchnorm_gradcheck(None, BACKWARD, rng=R()), TypeError, "forward"),
    bad("gradcheck.batchnorm_gradcheck", "backward not callable",
        lambda: gradcheck.batchnorm_gradcheck(FORWARD, "backward", rng=R()), TypeError,
        "backward"),
    bad("gradcheck.batchnorm_gradcheck", "n=0",
        lambda: gradcheck.batchnorm_gradcheck(FORWARD, BACKWARD, n=0, rng=R()), ValueError, "n"),
    bad("gradcheck.batchnorm_gradcheck", "a batch of one",
        lambda: gradcheck.batchnorm_gradcheck(FORWARD, BACKWARD, m=1, rng=R()), ValueError, "m"),
    bad("gradcheck.batchnorm_gradcheck", "eps=0",
        lambda: gradcheck.batchnorm_gradcheck(FORWARD, BACKWARD, eps=0, rng=R()), ValueError,
        "eps"),
    bad("gradcheck.batchnorm_gradcheck", "rng None",
        lambda: gradcheck.batchnorm_gradcheck(FORWARD, BACKWARD, rng=None), TypeError, "rng"),
    bad("gradcheck.relative_error", "a a string",
        lambda: gradcheck.relative_error("x", np.ones(3)), TypeError, "a"),
    bad("gradcheck.relative_error", "b nan",
        lambda: gradcheck.relative_error(np.ones(3), with_nan(np.ones(3))), ValueError, "b"),
    bad("gradcheck.relative_error", "b objects",
        lambda: gradcheck.relative_error(np.ones((2, 2)), OBJECTS), TypeError, "b"),

    bad("validate.as_float_array", "a string", lambda: validate.as_float_array("x", "1"),
        TypeError, "x"),
    bad("validate.as_float_array", "wrong ndim", lambda: validate.as_float_array("x", [1.0], ndim=2),
        ValueError, "x"),
    bad("validate.as_real", "nan", lambda: validate.as_real("x", NAN), ValueError, "x"),
    bad("validate.as_real", "below low", lambda: validate.as_real("x", -1, low=0), ValueError, "x"),
    bad("validate.as_int", "a float", lambda: validate.as_int("n", 1.5), TypeError, "n"),
    bad("validate.as_int", "above high", lambda: validate.as_int("n", 5, high=4), ValueError, "n"),
    bad("validate.as_rng", "a seed", lambda: validate.as_rng(0), TypeError, "rng"),
    bad("validate.as_labels", "fractional", lambda: validate.as_labels("y", [0.5]), TypeError, "y"),
    bad("validate.as_labels", "beyond C", lambda: validate.as_labels("y", [3], 3), ValueError, "y"),
    bad("validate.as_column", "a row", lambda: validate.as_column("mu", np.ones((1, 3))),
        ValueError, "mu"),
    bad("validate.as_variance", "negative", lambda: validate.as_variance("var", [[-1.0]]),
        ValueError, "var"),
    bad("validate.as_decay", "1", lambda: validate.as_decay(1.0), ValueError, "decay"),
    bad("validate.as_sizes", "empty", lambda: validate.as_sizes("hidden", ()), ValueError,
        "hidden"),
    bad("validate.as_sizes", "a string", lambda: validate.as_sizes("hidden", "100"), TypeError,
        "hidden"),
    bad("validate.as_callable", "a number", lambda: validate.as_callable("f", 3, "a function"),
        TypeError, "f"),
    bad("stand_ins.stand_in", "no exercise", lambda: stand_ins.stand_in(whose="x")(len),
        TypeError, "exercises"),
    bad("stand_ins.stand_in", "whose empty", lambda: stand_ins.stand_in("1.1", whose=" "),
        ValueError, "whose"),
    bad("stand_ins.gives_away", "an exercise as a number", lambda: stand_ins.gives_away(3.1),
        TypeError, "exercises"),
]

# Public callables that get no row, and why. Keep this short: exempt only what has no
# argument to get wrong or only draws what a tested function returned.
EXEMPT = {
    "paths.data_dir": "no argument (reads $LESSONLIB_DATA_DIR)",
    "data.Split": "a frozen dataclass holding what load_digits built and checked",
    "data.Digits": "a frozen dataclass holding what load_digits built and checked",
    "bars.interactive_kernel": "no argument (reads the environment and IPython)",
    "bars.progress_bar": "passes its arguments to tqdm, which checks them",
    "threads.one_blas_thread": "no argument",
    "memory.tune_allocator": "no argument",
    "stand_ins.OffLimits": "an exception, raised by a marked function",
    "stand_ins.checking": "takes any exercise id (None: nothing is off limits)",
    "validate.traced_value": "takes any value (returns None for what autograd does not trace)",
}

EXTREME = [
    ok("gradcheck.relative_error", "two zero arrays",
       lambda: gradcheck.relative_error(np.zeros(3), np.zeros(3)), lambda e: e == 0),
    ok("gradcheck.numerical_gradient", "an empty x",
       lambda: gradcheck.numerical_gradient(lambda x: 0.0, np.zeros((0, 2)))),
    ok("data.make_blobs", "spread 0", lambda: data.make_blobs(1, spread=0, rng=R())),
]


# the three tests of a table (tests/bad_input.py)
(test_every_public_callable_is_covered, test_bad_input_gets_a_named_error,
 test_extreme_but_valid_input_stays_finite) = table_tests(MODULES, BAD, EXEMPT, EXTREME)
