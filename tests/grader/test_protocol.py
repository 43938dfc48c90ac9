"""lessonlib.grader.protocol: an official check cell re-imports the genuine checks and ties
its result record to its one-time token."""

import json

import numpy as np

from lessonlib.grader.protocol import GRADE_LOG_ENV, graded_check_source


def test_the_graded_check_cell_records_its_result_under_its_token(tmp_path, monkeypatch,
                                                                  capsys):
    log = tmp_path / "checks.jsonl"
    monkeypatch.setenv(GRADE_LOG_ENV, str(log))
    source = graded_check_source("05_softmax_regression", "tok123",
                                 "check_one_hot(one_hot)")
    assert source.startswith("from lessonlib.grader.checks.softmax_regression import *")

    def one_hot(y, C):
        Y = np.zeros((C, len(y)))
        Y[y, np.arange(len(y))] = 1
        return Y

    check_one_hot = "a check the learner's code replaced"
    namespace = {"one_hot": one_hot, "check_one_hot": check_one_hot}
    exec(source, namespace)                       # as the graded kernel runs the cell
    exec("check_one_hot(one_hot)", namespace)     # a second, unofficial call
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["token"] for r in records] == ["tok123", None]
    assert records[0]["id"] == "5.2" and records[0]["passed"] and records[0]["points"] == 1
    assert capsys.readouterr().out.startswith("✓ Exercise 5.2 one_hot")
