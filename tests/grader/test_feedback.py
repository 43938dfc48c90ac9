"""The common mistakes and the feedback of a graded cohort whose mistakes are known: grade
--mistakes counts them, the JSON, the long CSV and the results file name them, and feedback
writes one self-contained HTML report per learner and notebook, escaping the learner's code
and showing keys and solutions only with --reveal. Bad input writes nothing."""

import csv
import html
import json

import nbformat
import pytest

from lessonlib import cli
from lessonlib.grader import feedback, mistakes

from .common import ROOT, SANDBOXED, cells_of

SOLVED_05 = ROOT / "instructor" / "solutions" / "05_softmax_regression.ipynb"
SHIFTLESS = ("def softmax(Z):\n    # <script>alert('x')</script>\n    E = np.exp(Z)\n"
             "    return E / E.sum(axis=0, keepdims=True)\n")
AXIS_1 = ("def softmax(Z):\n    E = np.exp(Z - Z.max(axis=1, keepdims=True))\n"
          "    return E / E.sum(axis=1, keepdims=True)\n")
# learner -> their softmax (None: the solved notebook's) and the mistake it makes
LEARNERS = {"ada": (None, ""), "cy": (SHIFTLESS, "softmax-overflow"),
            "dee": (AXIS_1, "softmax-wrong-axis"), "eve": (AXIS_1, "softmax-wrong-axis")}


def _write(path, softmax):
    nb = nbformat.read(SOLVED_05, as_version=4)
    if softmax is not None:
        cells_of(nb, "exercise")["5.1"].source = softmax
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)


def _grade(*args):
    return cli.main(["grade", *map(str, args), "--jobs", "2", "--cases", "7"]
                    + ([] if SANDBOXED else ["--no-sandbox"]))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    subs = root / "submissions"
    for learner, (softmax, _) in LEARNERS.items():
        _write(subs / learner / "05_softmax_regression.ipynb", softmax)
    out = {name: root / name for name in ("results.jsonl", "grades.json", "long.csv",
                                          "mistakes.csv", "figure.png")}
    code = _grade(subs, "--results", out["results.jsonl"], "--json", out["grades.json"],
                  "--csv", out["long.csv"], "--mistakes", out["mistakes.csv"],
                  "--figure", out["figure.png"], "--feedback", root / "feedback")
    assert code == 1                        # three learners did not pass
    return root, subs, out


def test_each_learners_mistake_is_in_the_json_csv_and_results_file(graded):
    _, _, out = graded
    by_path = {g["notebook"]: g for g in json.loads(out["grades.json"].read_text())}
    lines = [json.loads(line) for line in out["results.jsonl"].read_text().splitlines()]
    rows = list(csv.DictReader(out["long.csv"].open()))
    for learner, (_, mistake) in LEARNERS.items():
        grade = next(g for p, g in by_path.items() if f"/{learner}/" in p)
        first = grade["exercises"][0]
        assert (first["id"], first["mistake"]) == ("5.1", mistake)
        assert first["mistake_description"] == mistakes.describe(mistake)
        line = next(rec for rec in lines if rec["learner"] == learner)
        assert line["grade"]["exercises"][0]["mistake"] == mistake
        row = next(r for r in rows if f"/{learner}/" in r["notebook"] and r["exercise"] == "5.1")
        assert row["mistake"] == mistake


def test_the_mistakes_table_counts_learners_most_common_first(graded):
    _, _, out = graded
    rows = list(csv.reader(out["mistakes.csv"].open()))
    assert rows[0] == ["exercise", "function", "mistake", "description", "learners", "of",
                       "share"]
    assert [r[:3] + r[4:] for r in rows[1:]] == [
        ["5.1", "softmax", "softmax-wrong-axis", "2", "4", "0.5"],
        ["5.1", "softmax", "softmax-overflow", "1", "4", "0.25"]]
    assert out["figure.png"].read_bytes().startswith(b"\x89PNG")


def _report(folder, learner):
    return (folder / learner / "05_softmax_regression.html").read_text(encoding="utf-8")


def test_grade_feedback_writes_a_report_per_learner_that_escapes_their_code(graded):
    root, _, _ = graded
    assert sorted(p.parent.name for p in (root / "feedback").rglob("*.html")) == \
        sorted(LEARNERS)
    page = _report(root / "feedback", "cy")
    for ex in ("5.1", "5.2", "5.3"):
        assert f'id="{ex}"' in page
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)" in page
    assert html.escape(mistakes.describe("softmax-overflow")) in page
    assert "A worked solution" not in page and "The answer" not in page
    assert "http://" not in page and "https://" not in page and "src=" not in page


def test_feedback_from_the_results_file_reveals_keys_and_solutions_on_request(graded,
                                                                             tmp_path):
    _, _, out = graded
    assert cli.main(["feedback", str(out["results.jsonl"]), "--out", str(tmp_path / "a")]) == 0
    assert "The answer" not in _report(tmp_path / "a", "dee")
    assert cli.main(["feedback", str(out["grades.json"]), "--out", str(tmp_path / "b"),
                     "--reveal"]) == 0
    page = _report(tmp_path / "b", "dee")
    assert "A worked solution" in page and "The answer" in page and "Why: " in page
    solution = page.split('id="5.1"')[1].split("A worked solution")[1].split("</section>")[0]
    assert "### BEGIN SOLUTION" not in solution and "def softmax" in solution


def test_bad_input_is_a_clear_error_and_writes_nothing(graded, tmp_path, capsys):
    root, subs, out = graded
    dest = tmp_path / "out"
    assert cli.main(["feedback", str(tmp_path / "missing.jsonl"), "--out", str(dest)]) == 2
    assert "no such file" in capsys.readouterr().err
    # a results file of another run: a submission changed since it was graded
    changed = tmp_path / "class"
    lines = out["results.jsonl"].read_text().splitlines()
    record = json.loads(lines[-1])
    moved = changed / record["learner"] / "05_softmax_regression.ipynb"
    _write(moved, AXIS_1 + "\n# edited after grading\n")
    record["path"] = str(moved)
    other = tmp_path / "other.jsonl"
    other.write_text("\n".join(lines[:-1] + [json.dumps(record)]) + "\n")
    assert cli.main(["feedback", str(other), "--out", str(dest)]) == 2
    assert "not the file that was graded" in capsys.readouterr().err
    # an unknown notebook
    record = json.loads(lines[0])
    record["notebook"] = "07_transformers"
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text(json.dumps(record) + "\n")
    assert cli.main(["feedback", str(unknown), "--out", str(dest)]) == 2
    assert "unknown notebook '07_transformers'" in capsys.readouterr().err
    assert not dest.exists()
    with pytest.raises(feedback.FeedbackError, match="not a grade of grade --json"):
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"a": 1}\n')
        feedback.read_grades(bad)
    # grade: a missing folder, an output in a missing folder; nothing graded or written
    assert _grade(tmp_path / "nowhere", "--mistakes", tmp_path / "m.csv") == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert _grade(subs, "--mistakes", tmp_path / "no" / "m.csv") == 2
    assert "no folder" in capsys.readouterr().err
    assert not (tmp_path / "m.csv").exists()


@pytest.mark.parametrize("command", ["grade", "feedback"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([command, "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert ("--mistakes" in text and "--feedback" in text) if command == "grade" \
        else ("--reveal" in text and "RESULTS_OR_JSON" in text)
