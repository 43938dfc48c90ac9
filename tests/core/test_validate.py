"""lessonlib.core.validate: what each validator accepts and returns (its errors are in the
core bad-input table)."""

import numpy as np
import pytest

from lessonlib.core import validate


def test_float_arrays_keep_float32_and_cast_the_rest_to_float64():
    assert validate.as_float_array("x", np.ones(3, np.float32)).dtype == np.float32
    assert validate.as_float_array("x", [1, 2]).dtype == np.float64
    assert validate.as_float_array("x", np.array([True])).dtype == np.float64
    assert validate.as_float_array("x", [[np.nan]], finite=False).shape == (1, 1)
    assert validate.as_float_array("x", [], allow_empty=True).size == 0


def test_numbers_are_returned_as_python_numbers():
    assert validate.as_real("x", np.float32(0.5)) == 0.5
    assert type(validate.as_int("n", np.int64(3))) is int
    with pytest.raises(TypeError, match="x must be a real number"):
        validate.as_real("x", True)
    with pytest.raises(ValueError, match="x must be > 0"):
        validate.as_real("x", 0, low=0, low_inclusive=False)


def test_labels_accept_whole_floats_and_become_int64():
    y = validate.as_labels("y", [0.0, 2.0, 1.0], 3)
    assert y.dtype == np.int64 and list(y) == [0, 2, 1]


def test_columns_variances_decays_and_sizes():
    assert validate.as_column("mu", [[1.0], [2.0]], 2).shape == (2, 1)
    assert validate.as_variance("var", [[0.0]]).shape == (1, 1)
    assert validate.as_decay(0.0) == 0.0
    assert validate.as_sizes("hidden", [3, np.int64(4)]) == (3, 4)
    assert validate.as_callable("f", len, "a function") is len
    rng = np.random.default_rng(0)
    assert validate.as_rng(rng) is rng
