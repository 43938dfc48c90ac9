"""lessonlib.grader.notebook_files: reading notebooks with clear errors, their metadata; a
submission is a regular file whose workbook metadata has the types the grader reads."""

import os

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


def _with_metadata(tmp_path, *, notebook=None, cell=None, name="01_tuning_process.ipynb"):
    """Notebook 01 as handed out, with the notebook's ``lessonlib`` entry and the first check
    cell's replaced (``None``: left as it is)."""
    from tests.grader.common import LEARNER
    nb = nbformat.read(LEARNER, as_version=4)
    if notebook is not None:
        nb.metadata["lessonlib"] = notebook
    if cell is not None:
        check = next(c for c in nb.cells if nf.cell_info(c).get("role") == "check")
        check.metadata["lessonlib"] = cell
    path = tmp_path / name
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return path


# the workbook's own metadata, of every type but the one it must have
MALFORMED = [
    ({"notebook": "01_tuning_process"}, None, None),       # the control: read as it is
    ("01_tuning_process", None, "the notebook's lessonlib entry is a string"),
    (["01_tuning_process"], None, "the notebook's lessonlib entry is a list"),
    (7, None, "the notebook's lessonlib entry is a number"),
    ({"notebook": ["01_tuning_process"]}, None, "the notebook's lessonlib.notebook is a list"),
    ({"notebook": {"a": 1}}, None, "the notebook's lessonlib.notebook is an object"),
    ({"notebook": 1}, None, "the notebook's lessonlib.notebook is a number"),
    (None, {"exercise": ["1.1"], "role": "check"}, "lessonlib.exercise is a list"),
    (None, {"exercise": 1.1, "role": "check"}, "lessonlib.exercise is a number"),
    (None, {"exercise": {"id": "1.1"}, "role": "check"}, "lessonlib.exercise is an object"),
    (None, {"exercise": None, "role": "check"}, "lessonlib.exercise is null"),
    (None, {"exercise": "1.1", "role": ["check"]}, "lessonlib.role is a list"),
    (None, "check", "lessonlib entry is a string"),
    (None, ["1.1", "check"], "lessonlib entry is a list"),
]


@pytest.mark.parametrize("notebook, cell, why", MALFORMED)
def test_the_workbooks_metadata_is_checked_where_the_notebook_is_read(tmp_path, notebook,
                                                                      cell, why):
    """One schema check at the boundary: a submission whose metadata has another type is
    refused there, with its file and the reason (each of these crashed ``grade`` further
    in, a TypeError or an AttributeError naming no file)."""
    path = _with_metadata(tmp_path, notebook=notebook, cell=cell)
    if why is None:
        assert nf.read_submission(path).metadata["lessonlib"] == notebook
        return
    for read in (nf.read_notebook, nf.read_submission):
        with pytest.raises(nf.NotebookError) as info:
            read(path)
        assert str(path) in str(info.value) and why in str(info.value)
        assert "workbook metadata is malformed" in str(info.value)


def test_json_nested_too_deep_is_an_error_not_a_crash(tmp_path):
    deep = tmp_path / "deep.ipynb"
    deep.write_text('{"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {"x": '
                    + "[" * 100_000 + "]" * 100_000 + "}}")
    with pytest.raises(nf.NotebookError, match="nested deeper"):
        nf.read_submission(deep)
    assert nf.notebook_name(nbformat.from_dict({"metadata": {"lessonlib": "odd"}})) is None


def test_a_submission_must_be_a_regular_file_not_a_link(tmp_path):
    """A symbolic link is refused, even to the solved notebook (which it graded full
    before); so are a folder, a pipe (never waited on) and a file past the size cap."""
    from tests.grader.common import SOLVED
    link = tmp_path / "01_tuning_process.ipynb"
    link.symlink_to(SOLVED)
    assert nf.read_notebook(link).cells        # what grade did: it followed the link
    with pytest.raises(nf.NotebookError, match="it is a symbolic link"):
        nf.read_submission(link)
    dangling = tmp_path / "gone.ipynb"
    dangling.symlink_to(tmp_path / "nowhere.ipynb")
    with pytest.raises(nf.NotebookError, match="it is a symbolic link"):
        nf.submission_bytes(dangling)
    folder = tmp_path / "folder.ipynb"
    folder.mkdir()
    fifo = tmp_path / "pipe.ipynb"
    os.mkfifo(fifo)
    for path in (folder, fifo):
        with pytest.raises(nf.NotebookError, match="not a regular file"):
            nf.submission_bytes(path)
    huge = tmp_path / "huge.ipynb"
    with open(huge, "wb") as f:
        f.truncate(nf.MAX_NOTEBOOK_BYTES + 1)      # sparse: nothing is written or read
    with pytest.raises(nf.NotebookError, match="more than the 100 MiB"):
        nf.submission_bytes(huge)
    with pytest.raises(nf.NotebookError, match="no such file"):
        nf.submission_bytes(tmp_path / "missing.ipynb")
    assert nf.submission_bytes(SOLVED) == SOLVED.read_bytes()
