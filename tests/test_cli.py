"""lessonlib.cli: the commands, folders of notebooks, and exit codes (grading and release
themselves are tested in tests/grader)."""

import importlib.util
import subprocess
import sys

import pytest

from lessonlib import cli


def test_every_command_is_there():
    parser = cli.build_parser()
    for command in ("release", "grade", "progress", "bench", "refresh", "handout",
                    "gradescope"):
        arg = {"grade": ["x.ipynb"], "handout": ["out"], "gradescope": ["out.zip"]}.get(
            command, [])
        assert parser.parse_args([command, *arg]).command == command
    with pytest.raises(SystemExit):
        parser.parse_args(["grade"])              # grade needs at least one notebook


def test_folders_are_replaced_by_their_notebooks_in_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "02.ipynb").write_text("{}")
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text("{}")
    assert cli._expand([tmp_path, tmp_path / "c.ipynb"]) == [
        tmp_path / "a.ipynb", tmp_path / "b" / "02.ipynb", tmp_path / "c.ipynb"]


def test_release_check_passes_on_the_committed_notebooks(capsys):
    assert cli.main(["release", "--check"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 12 and all(line.endswith(": unchanged") for line in out)
    assert out[6] == "checks/01_tuning_process.json: unchanged"


def test_handout_into_an_existing_folder_exits_2_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep")
    assert cli.main(["handout", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_grade_with_nothing_to_grade_exits_2(tmp_path, capsys):
    assert cli.main(["grade", str(tmp_path)]) == 2
    assert "no notebooks to grade" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("rfc3987_syntax") is None,
                    reason="rfc3987_syntax is not installed: nothing to skip")
def test_the_command_line_skips_the_slow_iri_grammar_nbformat_would_load():
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "lessonlib", "release",
                          "--check"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines()}
    assert {"nbformat", "jsonschema"} <= imported      # it did validate notebooks
    assert "rfc3987_syntax.syntax_helpers" not in imported   # nor built the IRI parsers


def test_grade_documents_its_time_limits_and_refuses_ones_not_positive(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["grade", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--time-limit SECONDS wall-clock seconds allowed per submission" in text
    assert "(default 600)" in text and "per call of a learner's function" in text
    assert cli.build_parser().parse_args(["grade", "x.ipynb"]).time_limit == 600
    for option in ("--time-limit", "--timeout"):
        assert cli.main(["grade", str(tmp_path), option, "0"]) == 2
        assert "must be positive" in capsys.readouterr().err
