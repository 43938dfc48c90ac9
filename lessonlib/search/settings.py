"""The capstone's hyperparameters (notebook 06): what its search tunes, what stays fixed,
and the check of a setting.

A setting (``params``) is a dict with the ``SEARCHED`` hyperparameters ``"learning_rate"``,
``"hidden_units"``, ``"batch_size"`` and ``"n_hidden_layers"``, and optionally any key of
``FIXED`` to change its default. ``as_params`` validates a setting and fills in
``FIXED``; ``linear_search_space`` is the stand-in of exercise 6.1, a space over
``SEARCHED`` with every range on a linear scale. ``lessons.putting_it_together`` trains the
network a setting describes; the check of exercise 6.1 passes the settings a learner's
space draws through ``as_params``.
"""

from __future__ import annotations

import numbers

from ..core.stand_ins import stand_in
from ..core.validate import as_int, as_real
from .spaces import IntUniform, Uniform

# The hyperparameters the search tunes, in the order they are printed.
SEARCHED = ("learning_rate", "hidden_units", "batch_size", "n_hidden_layers")
# What stays fixed: 12 epochs keep the trials cheap; Adam's usual defaults; batch norm's
# decay 0.9 averages over about 10 steps, so it warms up even with the largest batches.
FIXED = {"epochs": 12, "bn_decay": 0.9, "adam_beta1": 0.9, "adam_beta2": 0.999,
         "adam_epsilon": 1e-8}


def as_params(params) -> dict:
    """Validate a setting: the four searched hyperparameters and optional ``FIXED`` keys.

    Returns a complete setting (``FIXED`` filled in) with Python numbers, or raises
    ``TypeError``/``ValueError`` naming ``params`` and the offending key.
    """
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of hyperparameters, got {type(params).__name__}")
    missing = [k for k in SEARCHED if k not in params]
    unknown = [k for k in params if k not in SEARCHED and k not in FIXED]
    if missing or unknown:
        raise ValueError(f"params must hold {', '.join(SEARCHED)} (optionally "
                         f"{', '.join(FIXED)}); missing {missing}, unknown {unknown}")
    out = {**FIXED, **params}
    for k in ("learning_rate", "adam_epsilon"):
        out[k] = as_real(f"params[{k!r}]", out[k], low=0, low_inclusive=False)
    for k in ("bn_decay", "adam_beta1", "adam_beta2"):
        out[k] = as_real(f"params[{k!r}]", out[k], low=0, high=1, high_inclusive=False)
    for k, low in (("hidden_units", 1), ("batch_size", 2), ("n_hidden_layers", 1),
                   ("epochs", 1)):
        value = out[k]
        if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) \
                and float(value).is_integer():
            value = int(value)
        out[k] = as_int(f"params[{k!r}]", value, low=low)
    return out


@stand_in("6.1", whose="a stand-in space with every range on a linear scale")
def linear_search_space() -> dict:
    """Stand-in for exercise 6.1 until the learner's ``make_search_space`` passes: the
    capstone's four hyperparameters, each sampled uniformly on a linear scale, as if
    notebook 02 had not happened (the exercise asks for each on its own scale)."""
    return {"learning_rate": Uniform(1e-4, 1e-1),
            "hidden_units": IntUniform(16, 128),
            "batch_size": IntUniform(16, 256),
            "n_hidden_layers": IntUniform(1, 4)}
