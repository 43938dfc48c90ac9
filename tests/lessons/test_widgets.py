"""lessonlib.lessons.widgets: one model per fixed id, and the placeholder a saved notebook
shows for it."""

import pytest

from lessonlib.lessons.widgets import FixedWidgets


def test_a_box_takes_its_fixed_id_and_closes_the_one_before():
    fixed = FixedWidgets("99_test", {"w": "Run this cell."})
    first = fixed.box("w", [])
    assert first.model_id == fixed.ids["w"] == FixedWidgets("99_test", {"w": ""}).ids["w"]
    again = fixed.box("w", [])
    assert again.model_id == fixed.ids["w"] and first.comm is None     # closed
    with pytest.raises(ValueError, match="name must be one of"):
        fixed.box("v", [])


def test_the_saved_state_holds_a_placeholder_for_each_id():
    fixed = FixedWidgets("99_test", {"w": "Run this cell.", "v": "And this one."})
    state = fixed.saved_state()["application/vnd.jupyter.widget-state+json"]["state"]
    assert len(state) == 6
    html = state[fixed.ids["w"]]
    assert html["model_name"] == "HTMLModel" and "Run this cell." in html["state"]["value"]
    assert html["state"]["layout"].removeprefix("IPY_MODEL_") in state
