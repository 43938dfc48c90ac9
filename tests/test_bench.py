"""The benchmark command prints figures; here only that its parts run and compare like
with like (the figures themselves are never asserted: timings flake)."""

import numpy as np
import pytest

from lessonlib import bench


def test_time_is_a_positive_median():
    calls = []
    t = bench._time(lambda: calls.append(1), repeats=3, min_seconds=0.001)
    assert t > 0 and len(calls) >= 4       # a warm-up and at least one call per repeat


def test_row_reports_ratio_and_verdict():
    row = bench._row("x", 0.003, 0.002, 0.001, 1.5)
    assert "1.50" in row and row.endswith("ok")
    assert bench._row("x", 0.004, 0.002, 0.001, 1.5).endswith("OVER 1.5")
    assert "PyTorch absent" in bench._row("x", 0.004, None, None, 1.5)


def test_cases_run_without_pytorch():
    cases = bench.bench_batchnorm(None) + bench.bench_softmax(None)
    assert len(cases) == 6
    for _name, ours, theirs, target, _ in cases:
        assert theirs is None and target == 1.5
        ours()


def test_pytorch_cases_compute_the_same_thing():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (optional)")
    from lessonlib.layers.batchnorm import batchnorm_backward_by_autodiff, batchnorm_forward
    rng = np.random.default_rng(0)
    Z, G = rng.standard_normal((6, 9)), rng.standard_normal((6, 9))
    out, cache = batchnorm_forward(Z, np.ones((6, 1)), np.zeros((6, 1)))
    dZ = batchnorm_backward_by_autodiff(G, cache)[0]
    layer = torch.nn.BatchNorm1d(6, dtype=torch.float64)
    x = torch.tensor(Z.T.copy(), requires_grad=True)
    y = layer(x)
    y.backward(torch.tensor(G.T.copy()))
    assert np.allclose(y.detach().numpy().T, out) and np.allclose(x.grad.numpy().T, dZ)


def test_checks_in_process_time_the_solved_notebooks_checks():
    from lessonlib.grader.check_data import solved_checks
    from lessonlib.grader.notebook_files import read_notebook, solutions_dir
    from lessonlib.grader.oracle import replay_for
    nb = read_notebook(solutions_dir() / "05_softmax_regression.ipynb")
    checks = list(solved_checks(nb))
    assert 0 < bench._checks_in_process(checks) < 30
    assert 0 < bench._checks_in_process(checks, replay_for) < 30


def test_the_check_data_rows_name_each_notebook():
    from lessonlib.grader.notebook_files import solutions_dir
    rows = bench.bench_check_data([solutions_dir() / "01_tuning_process.ipynb"])
    assert len(rows) == 2 and rows[1].startswith("01_tuning_process") and "kB" in rows[1]


def test_a_synthetic_cohort_mixes_solved_half_done_and_untouched_notebooks(tmp_path):
    from lessonlib.grader.notebook_files import cell_info, read_notebook
    paths = bench.make_cohort(tmp_path, 3)
    assert len(paths) == 18 and len({p.parent.name for p in paths}) == 3
    solved_counts = set()
    for p in paths:
        nb = read_notebook(p)
        cells = [c for c in nb.cells if cell_info(c).get("role") == "exercise"]
        solved_counts.add(sum("NotImplementedError" not in c.source for c in cells)
                          / len(cells))
    assert min(solved_counts) == 0 and max(solved_counts) == 1
    assert any(0 < s < 1 for s in solved_counts)


def test_the_cost_of_isolation_is_the_box_against_a_submission_and_with_against_without(
        tmp_path):
    from lessonlib.grader import cohort, sandbox
    if (why := sandbox.sandbox_status()) is not None:
        pytest.skip(f"no sandbox here: {why}")
    path = bench.make_cohort(tmp_path, 1)[0]
    rows = bench.bench_isolation([cohort.submission(path)], 4.0, 5.0, {"jobs": 1},
                                 repeats=2)
    assert rows[0].startswith("--jobs 1 --no-sandbox") and "1 submissions in" in rows[0]
    assert rows[1].startswith("cost of isolation: the box") and "of a submission's 4.00 s" \
        in rows[1]
    box_ms = float(rows[1].split(" ms,")[0].rsplit(" ", 1)[1])
    assert 0 < box_ms < 4000
    assert "fastest of 2 and 2 runs" in rows[2]
    import tempfile
    from pathlib import Path
    assert not list(Path(tempfile.gettempdir()).glob("lessonlib-box-bench-*"))
