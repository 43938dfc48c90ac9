"""lessonlib.search.settings: the capstone's hyperparameters, the check of a setting, and
exercise 6.1's linear stand-in."""

import numpy as np
import pytest

from lessonlib.search import settings, spaces

GOOD = {"learning_rate": 0.01, "hidden_units": 32, "batch_size": 64, "n_hidden_layers": 2}


def test_check_params_fills_defaults_and_accepts_whole_floats():
    p = settings.as_params({**GOOD, "hidden_units": 32.0})
    assert p["hidden_units"] == 32 and isinstance(p["hidden_units"], int)
    assert {k: p[k] for k in settings.FIXED} == settings.FIXED
    with pytest.raises(ValueError, match="bn_decay"):
        settings.as_params({**GOOD, "bn_decay": 1.0})
    with pytest.raises(ValueError, match="unknown"):
        settings.as_params({**GOOD, "beta1": 0.9})


def test_check_params_names_what_is_missing_and_unknown():
    with pytest.raises(ValueError, match=r"missing \['n_hidden_layers'\], unknown \['beta1'\]"):
        settings.as_params({**{k: GOOD[k] for k in settings.SEARCHED[:3]}, "beta1": 0.9})
    with pytest.raises(TypeError, match="params"):
        settings.as_params([("learning_rate", 0.01)])


def test_linear_stand_in_searches_every_hyperparameter_on_a_linear_scale():
    space = settings.linear_search_space()
    assert tuple(space) == settings.SEARCHED
    assert all(type(d) in (spaces.Uniform, spaces.IntUniform) for d in space.values())
    for params in spaces.sample_space(space, 50, rng=np.random.default_rng(0)):
        assert settings.as_params(params) == {**settings.FIXED, **params}
