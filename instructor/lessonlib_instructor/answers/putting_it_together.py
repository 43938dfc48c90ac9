"""Notebook 06's answer: exercise 6.1 (``make_search_space``), the space the text's results
come from. Any space the check accepts is an answer; this is the one the solved notebook
searches."""

from __future__ import annotations

from lessonlib.search.spaces import IntLogUniform, IntUniform, LogUniform


def make_search_space() -> dict:
    """The capstone's search space, each hyperparameter on its own scale. Exercise 6.1.

    - ``learning_rate``: ``LogUniform(1e-4, 1e-1)``, as many trials per decade;
    - ``hidden_units``: ``IntLogUniform(16, 128)``, as many per doubling;
    - ``batch_size``: ``IntLogUniform(16, 256)``, as many per doubling;
    - ``n_hidden_layers``: ``IntUniform(1, 4)``, a narrow range of counts.
    """
    return {"learning_rate": LogUniform(1e-4, 1e-1),
            "hidden_units": IntLogUniform(16, 128),
            "batch_size": IntLogUniform(16, 256),
            "n_hidden_layers": IntUniform(1, 4)}
