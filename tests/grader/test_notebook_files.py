"""lessonlib.grader.notebook_files: reading notebooks with clear errors, their metadata."""

import nbformat
import pytest

from lessonlib.grader import notebook_files as nf


def test_broken_files_get_a_clear_error(tmp_path):
    with pytest.raises(nf.NotebookError, match="no such file"):
        nf.read_notebook(tmp_path / "missing.ipynb")
    text = tmp_path / "essay.ipynb"
    text.write_text("Dear instructor")
    with pytest.raises(nf.NotebookError, match="it is not JSON"):
        nf.read_notebook(text)
    other = tmp_path / "data.ipynb"
    other.write_text('{"a": 1}')
    with pytest.raises(nf.NotebookError, match="without 'cells'"):
        nf.read_notebook(other)
    invalid = tmp_path / "invalid.ipynb"
    invalid.write_text('{"cells": 3, "nbformat": 4, "nbformat_minor": 5, "metadata": {}}')
    with pytest.raises(nf.NotebookError, match="not a valid Jupyter notebook"):
        nf.read_notebook(invalid)


def test_metadata_and_the_source_hash():
    nb = nbformat.v4.new_notebook(metadata={"lessonlib": {"notebook": "01_tuning_process"}})
    cell = nbformat.v4.new_code_cell("x = 1", metadata={"lessonlib": {"role": "check"}})
    nb.cells = [cell, nbformat.v4.new_code_cell("y", metadata={"lessonlib": "odd"})]
    assert nf.notebook_name(nb) == "01_tuning_process"
    assert nf.cell_info(nb.cells[0]) == {"role": "check"} and nf.cell_info(nb.cells[1]) == {}
    before = nf.source_hash(nb)
    cell.outputs = [nbformat.v4.new_output("stream", text="out")]
    assert nf.source_hash(nb) == before           # outputs are not what the learner writes
    cell.source = "x = 2"
    assert nf.source_hash(nb) != before


def test_folders():
    assert nf.solutions_dir() == nf.project_dir() / "instructor" / "solutions"
    assert (nf.learner_dir() / "01_tuning_process.ipynb").is_file()
