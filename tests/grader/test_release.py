"""lessonlib.grader.release: learner notebooks generated from the solved ones."""

import base64

import nbformat
import pytest

from lessonlib.grader import check_data, notebook_files, release
from lessonlib.grader.notebook_files import cell_info
from tests.grader.common import ROOT, SOLVED, cells_of, run_cli


def test_committed_learner_notebooks_equal_what_release_generates():
    results = release.release(check=True)
    assert results and all(r.status == "unchanged" for r in results), results


def test_committed_check_data_equals_what_release_writes():
    results = check_data.write_check_data(check=True)
    assert len(results) == 6 and all(r.status == "unchanged" for r in results), results


def test_every_solved_notebook_has_a_learner_notebook_and_checks():
    solved = sorted(p.name for p in (ROOT / "instructor" / "solutions").glob("*.ipynb"))
    learner = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert solved == learner
    for name in solved:
        nb = notebook_files.read_notebook(ROOT / "instructor" / "solutions" / name)
        assert cells_of(nb, "exercise").keys() == cells_of(nb, "check").keys()


def test_release_stubs_solutions_and_keeps_not_attempted_lines():
    learner = release.make_learner(notebook_files.read_notebook(SOLVED))
    ex = cells_of(learner, "exercise")["1.2"]
    assert notebook_files.BEGIN not in ex.source
    assert "return 1.0 - (1.0 - fraction)" not in ex.source
    assert 'raise NotImplementedError("Exercise 1.2: chance_at_least_one")' in ex.source
    assert ex.source.startswith("def chance_at_least_one(fraction, n_trials):")
    check = cells_of(learner, "check")["1.2"]
    assert check.outputs[0]["text"] == \
        "○ Exercise 1.2 chance_at_least_one: not attempted yet (0/1 points)\n"
    others = [c for c in learner.cells if c.cell_type == "code"
              and cell_info(c).get("role") != "check"]
    assert all(c.outputs == [] and c.execution_count is None for c in others)


def test_release_never_silently_overwrites_learner_edits(tmp_path):
    sol_dir, out_dir = tmp_path / "solutions", tmp_path / "out"
    sol_dir.mkdir()
    (sol_dir / SOLVED.name).write_text(SOLVED.read_text())
    assert [r.status for r in release.release(solutions=sol_dir, out=out_dir)] == ["written"]
    target = out_dir / SOLVED.name
    assert [r.status for r in release.release(solutions=sol_dir, out=out_dir)] == ["unchanged"]
    nb = nbformat.read(target, as_version=4)
    cells_of(nb, "exercise")["1.2"].source += "\n# my work"
    nbformat.write(nb, target)
    edited = target.read_bytes()
    # a change in the solved notebook would normally update the learner one ...
    solved = nbformat.read(sol_dir / SOLVED.name, as_version=4)
    solved.cells[0].source += "\n\nA new sentence."
    nbformat.write(solved, sol_dir / SOLVED.name)
    res = release.release(solutions=sol_dir, out=out_dir)
    # ... but not over the learner's edits
    assert res[0].status == "kept (learner edits)" and "--force" in res[0].detail
    assert target.read_bytes() == edited
    cli = run_cli("release", "--solutions", sol_dir, "--out", out_dir)
    assert cli.returncode == 1 and "kept (learner edits)" in cli.stdout
    res = release.release(solutions=sol_dir, out=out_dir, force=True)
    assert res[0].status == "overwritten"
    assert (out_dir / (SOLVED.name + ".bak")).read_bytes() == edited
    assert "A new sentence." in target.read_text()


def test_release_updates_an_unedited_learner_notebook(tmp_path):
    sol_dir, out_dir = tmp_path / "solutions", tmp_path / "out"
    sol_dir.mkdir()
    (sol_dir / SOLVED.name).write_text(SOLVED.read_text())
    release.release(solutions=sol_dir, out=out_dir)
    solved = nbformat.read(sol_dir / SOLVED.name, as_version=4)
    solved.cells[0].source += "\n\nA new sentence."
    nbformat.write(solved, sol_dir / SOLVED.name)
    assert release.release(solutions=sol_dir, out=out_dir)[0].status == "written"
    assert release.release(solutions=sol_dir, out=out_dir, check=True)[0].status == "unchanged"


def test_release_rejects_unbalanced_markers(tmp_path):
    nb = notebook_files.read_notebook(SOLVED)
    ex = cells_of(nb, "exercise")["1.1"]
    ex.source = ex.source.replace(notebook_files.END, "")
    with pytest.raises(notebook_files.NotebookError, match="without"):
        release.make_learner(nb)


def test_refresh_stores_and_tags_the_cells_that_only_print(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")   # the suite's, which refresh must override for
    # its kernel so that figures are drawn and stored
    nb = nbformat.v4.new_notebook(metadata={"lessonlib": {"notebook": "99_tiny"}})
    nb.cells = [nbformat.v4.new_code_cell("x = 6 * 7"),
                nbformat.v4.new_code_cell("print(x)", metadata={"tags": [release.CHECK_TAG]}),
                nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 2])\n"
                                          "plt.show()\nprint('drawn')"),
                nbformat.v4.new_code_cell("print('and shown')\nx",
                                          metadata={"tags": ["keep-me", release.CHECK_TAG]})]
    for cell in nb.cells:
        cell.outputs = [nbformat.v4.new_output("stream", text="stale\n")]
    path = tmp_path / "99_tiny.ipynb"
    nbformat.write(nb, path)
    release.refresh_solved(path)
    silent, printed, plotted, shown = nbformat.read(path, as_version=4).cells
    assert silent.outputs == [] and "tags" not in silent.metadata
    assert [o.text for o in printed.outputs] == ["42\n"]
    assert printed.metadata.tags == [release.CHECK_TAG] and printed.execution_count == 1
    # the figure is stored after the text, as a PNG, for a reader; nbval compares the text
    assert [o.output_type for o in plotted.outputs] == ["stream", "display_data"]
    assert plotted.outputs[0].text == "drawn\n" and plotted.metadata.tags == [release.CHECK_TAG]
    assert list(plotted.outputs[1].data) == ["image/png"]
    assert base64.b64decode(plotted.outputs[1].data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert shown.outputs == [] and shown.metadata.tags == ["keep-me"]   # printed and a result
    assert shown.execution_count is None


def test_refresh_refuses_a_check_cell_that_prints_nothing(tmp_path):
    nb = nbformat.v4.new_notebook(metadata={"lessonlib": {"notebook": "99_tiny"}})
    nb.cells = [nbformat.v4.new_code_cell("1", metadata={"lessonlib": {"role": "check"}})]
    nbformat.write(nb, tmp_path / "99_tiny.ipynb")
    with pytest.raises(notebook_files.NotebookError, match="check cell"):
        release.refresh_solved(tmp_path / "99_tiny.ipynb")


def test_worked_derivations_stay_in_the_solved_notebooks():
    """A cell of role "worked" (an exercise's answer explained: 3.4's short backward pass,
    5.5's dZ) is in the solved notebook and in no learner notebook; one added to any cell
    is dropped by make_learner."""
    worked = {}
    for path in sorted(notebook_files.solutions_dir().glob("*.ipynb")):
        solved = nbformat.read(path, as_version=4)
        worked[path.stem] = [cell_info(c)["exercise"] for c in solved.cells
                             if cell_info(c).get("role") == "worked"]
        learner = nbformat.read(notebook_files.learner_dir() / path.name, as_version=4)
        assert not [c for c in learner.cells if cell_info(c).get("role") == "worked"]
        sources = {c.source for c in learner.cells}
        for cell in solved.cells:
            if cell_info(cell).get("role") == "worked":
                assert cell.source not in sources
    assert worked["03_batch_norm"] == ["3.4"]
    assert worked["05_softmax_regression"] == ["5.3", "5.5"]
    solved = nbformat.read(SOLVED, as_version=4)
    extra = nbformat.v4.new_markdown_cell("**The answer.** 1 - (1 - f)^n")
    extra.metadata["lessonlib"] = {"exercise": "1.2", "role": "worked"}
    solved.cells.append(extra)
    assert "**The answer.**" not in [c.source for c in release.make_learner(solved).cells]


def test_learner_notebooks_carry_the_kernels_report_of_its_language():
    """JupyterLab writes what the kernel reports of its language into the notebook it opens:
    a notebook that stores the same opens unmodified (the browser test opens them)."""
    from ipykernel.ipkernel import IPythonKernel
    reported = dict(IPythonKernel.language_info)
    assert {k: v for k, v in release.LANGUAGE_INFO.items() if k != "version"} == \
        {k: v for k, v in reported.items() if k != "version"}
    for path in sorted(notebook_files.learner_dir().glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata.language_info == release.LANGUAGE_INFO, path.name
