"""lessonlib.grader.exercises: the table agrees with the checks modules and the solved
notebooks; marks, names and progress lines."""

import importlib

import nbformat
import pytest

from lessonlib.grader.exercises import (
    EXERCISES,
    NOTEBOOKS,
    Exercise,
    Status,
    checks_module,
    exercises_of,
    lecture,
    not_attempted_line,
    progress_lines,
)
from lessonlib.grader.notebook_files import cell_info, solutions_dir


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_each_checks_module_checks_exactly_its_notebooks_exercises(notebook):
    module = importlib.import_module(checks_module(notebook))
    checks = {name: obj for name, obj in vars(module).items() if name.startswith("check_")}
    want = {f"check_{e.function}": e for e in exercises_of(notebook)}
    assert sorted(checks) == sorted(want)
    for name, check in checks.items():
        assert check.exercise is want[name]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_the_solved_notebook_has_the_tables_exercises_in_order(notebook):
    nb = nbformat.read(solutions_dir() / f"{notebook}.ipynb", as_version=4)
    assert nb.metadata["lessonlib"]["notebook"] == notebook
    ids = [cell_info(c)["exercise"] for c in nb.cells if cell_info(c).get("role") == "exercise"]
    for kind in ("exercise", "question"):      # questions sit among the exercises
        assert [i for i in ids if EXERCISES[i].kind == kind] == \
            [e.id for e in exercises_of(notebook) if e.kind == kind]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_each_solved_notebook_starts_with_its_set_up_cell(notebook):
    nb = nbformat.read(solutions_dir() / f"{notebook}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert cell_info(code[0]) == {"role": "setup"}
    assert "import" in code[0].source and "SEED" in code[0].source


def test_every_solved_notebook_is_in_the_table():
    assert sorted(p.stem for p in solutions_dir().glob("*.ipynb")) == sorted(NOTEBOOKS)
    assert {e.notebook for e in EXERCISES.values()} == set(NOTEBOOKS)


def test_a_lecture_has_one_name():
    assert lecture("03_batch_norm") == "batch_norm"
    assert checks_module("05_softmax_regression") == "lessonlib.grader.checks.softmax_regression"
    with pytest.raises(ValueError, match="notebook must be one of"):
        lecture("07_convolutions")


def test_statuses_marks_and_order():
    assert [s.mark for s in Status] == ["✓", "✗", "○", "✎"]
    assert Status.FAILED == "failed"
    e = Exercise("1.10", "f", 1, "01_tuning_process")
    assert sorted([e, EXERCISES["1.2"]], key=lambda x: x.sort_key)[-1] is e
    q = Exercise("Q1.1", "g", 1, "01_tuning_process", kind="question")
    assert sorted([q, e, EXERCISES["1.2"]], key=lambda x: x.sort_key)[-1] is q
    assert (q.label, e.label) == ("Question 1.1", "Exercise 1.10")
    assert not_attempted_line(EXERCISES["5.2"]) == \
        "○ Exercise 5.2 one_hot: not attempted yet (0/1 points)"


def test_progress_lines_count_points_and_passes():
    lines = progress_lines("02_choosing_scales", {"2.1": (Status.FAILED, 1.2)}, title="me")
    assert lines == ["Progress in me: 1.2/7 points, 0/2 exercises passed and 0/3 questions "
                     "answered",
                     "  ✗ 2.1   sample_log_uniform   1.2/2   failed",
                     "  ○ 2.2   sample_ema_beta        0/2   not attempted",
                     "  ○ Q2.1  below_1e3_chance       0/1   not attempted",
                     "  ○ Q2.2  long_window_shares     0/1   not attempted",
                     "  ○ Q2.3  top_decade_share       0/1   not attempted"]


def test_progress_lines_count_questions_apart_from_exercises():
    items = [Exercise("2.1", "sample_log_uniform", 2, "02_choosing_scales"),
             Exercise("Q2.1", "which_scale", 1, "02_choosing_scales", kind="question")]
    lines = progress_lines("02_choosing_scales", {"Q2.1": (Status.PASSED, 1.0)}, items)
    assert lines[0] == ("Progress in 02_choosing_scales: 1/3 points, 0/1 exercises passed and "
                        "1/1 questions answered")
    assert lines[2] == "  ✓ Q2.1  which_scale            1/1   passed"


def test_progress_lines_show_a_recorded_answer_without_points():
    items = [Exercise("2.1", "sample_log_uniform", 2, "02_choosing_scales"),
             Exercise("Q2.1", "which_scale", 1, "02_choosing_scales", kind="question"),
             Exercise("Q2.2", "top_decade_share", 1, "02_choosing_scales", kind="question")]
    lines = progress_lines("02_choosing_scales", {"2.1": (Status.PASSED, 2.0),
                                                  "Q2.1": (Status.ANSWERED, 0.0)}, items)
    assert lines == ["Progress in 02_choosing_scales: 2/4 points, 1/1 exercises passed and "
                     "1/2 questions answered (graded later)",
                     "  ✓ 2.1   sample_log_uniform     2/2   passed",
                     "  ✎ Q2.1  which_scale            -/1   answered",
                     "  ○ Q2.2  top_decade_share       0/1   not attempted"]


def test_long_check_lines_wrap_between_words_never_inside_a_number():
    from lessonlib.grader.exercises import wrap_line
    line = ("✗ Exercise 5.1 softmax: for logits of size 1000 the columns sum to "
            "[1.000001234, 0.99999876, nan] instead of 1. Hint: subtract each column's "
            "maximum with keepdims=True before np.exp (0/6 checks passed, 0/2 points)")
    wrapped = wrap_line(line)
    assert all(len(part) <= 100 for part in wrapped.splitlines())
    assert " ".join(wrapped.split()) == " ".join(line.split())
    assert "[1.000001234," in wrapped.split() and "keepdims=True" in wrapped.split()
    assert wrap_line("short line") == "short line"
