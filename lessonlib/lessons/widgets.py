"""Widgets that a saved notebook can reopen: each under a fixed model id, with a
placeholder state in the notebook's metadata.

JupyterLab saves a widget's view in its cell but, by default, not the widget's state. A
notebook reopened with a new kernel would then log "widget model not found". A widget shown
through ``FixedWidgets.box`` always has the same model id, and ``saved_state`` is what the
solved notebook keeps in ``metadata.widgets`` for that id: an HTML line saying how to get the
widget back, which JupyterLab renders until the cell runs again. Not a lesson: a helper the
lesson modules share.
"""

from __future__ import annotations

import uuid

import ipywidgets as widgets

_VERSION = {"model_module_version": "2.0.0"}


class FixedWidgets:
    """The fixed-id widgets of one notebook: ``placeholders`` maps each widget's name to the
    sentence shown in its place while no kernel runs it."""

    def __init__(self, notebook: str, placeholders: dict[str, str]):
        self.ids = {name: uuid.uuid5(uuid.NAMESPACE_URL, f"lessonlib/{notebook}/{name}").hex
                    for name in placeholders}
        self.placeholders = dict(placeholders)
        self._shown: dict[str, widgets.Widget] = {}

    def box(self, name: str, children) -> widgets.VBox:
        """A VBox of ``children`` under the fixed model id of ``name``; the one made before
        is closed (one model per id)."""
        if name not in self.ids:
            raise ValueError(f"name must be one of {sorted(self.ids)}, got {name!r}")
        old = self._shown.pop(name, None)
        if old is not None:
            old.close()
        box = widgets.VBox(children, model_id=self.ids[name])
        self._shown[name] = box
        return box

    def saved_state(self) -> dict:
        """The notebook's ``metadata.widgets``: an HTML placeholder per fixed id."""
        state = {}
        for name, model_id in self.ids.items():
            layout, style = (uuid.uuid5(uuid.NAMESPACE_URL, f"{model_id}/{part}").hex
                             for part in ("layout", "style"))
            state[layout] = {"model_name": "LayoutModel",
                             "model_module": "@jupyter-widgets/base", **_VERSION, "state": {}}
            state[style] = {"model_name": "HTMLStyleModel",
                            "model_module": "@jupyter-widgets/controls", **_VERSION,
                            "state": {}}
            state[model_id] = {"model_name": "HTMLModel",
                               "model_module": "@jupyter-widgets/controls", **_VERSION,
                               "state": {"value": f"<i>{self.placeholders[name]}</i>",
                                         "layout": f"IPY_MODEL_{layout}",
                                         "style": f"IPY_MODEL_{style}"}}
        return {"application/vnd.jupyter.widget-state+json":
                {"version_major": 2, "version_minor": 0, "state": state}}
