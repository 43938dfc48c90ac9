"""``python -m lessonlib bench``: speed figures against PyTorch, printed, never asserted.

Every figure is a ratio measured in one run on one machine: lessonlib's time over the
reference's (PyTorch on the CPU, or a plain notebook execution for ``grade``). Each time is
the median of several repeats after a warm-up. PyTorch is optional (``pip install torch``):
without it the PyTorch rows say so and the notebook rows still run. Before timing, it
keeps freed memory for reuse (``core.memory.tune_allocator``), as training does. Targets:
batch norm and softmax cross-entropy at most 1.5, a training epoch at most 1.0, ``grade`` at
most 0.5 times a plain execution (it skips the lessons' experiments), and the sandbox and
the trusted checks together adding at most about one second per notebook.
"""

from __future__ import annotations

import copy
import os
import statistics
import time
from pathlib import Path

import numpy as np
from nbclient import NotebookClient

from .core.data import load_digits
from .core.memory import tune_allocator
from .grader.grade import grade_notebook
from .grader.notebook_files import read_notebook, solutions_dir
from .layers.batchnorm import batchnorm_backward_by_autodiff, batchnorm_forward
from .layers.softmax import one_hot, softmax_cross_entropy_by_autodiff
from .network import Network, train_epochs
from .optim import Optimizer

TARGETS = {"batchnorm": 1.5, "softmax": 1.5, "epoch": 1.0, "grade": 0.5, "trust": 1.0}


def _time(fn, *, repeats: int = 7, min_seconds: float = 0.05) -> float:
    """Median seconds per call of ``fn`` (each repeat loops until ``min_seconds``)."""
    fn()                                          # warm-up
    samples = []
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        samples.append(elapsed / n)
    return statistics.median(samples)


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _row(name: str, ours: float, ref1: float | None, refn: float | None,
         target: float) -> str:
    if ref1 is None:
        return f"{name:<44} {ours * 1e3:>9.3f} ms   (PyTorch absent)"
    ratio = ours / ref1
    verdict = "ok" if ratio <= target else f"OVER {target:g}"
    return (f"{name:<44} {ours * 1e3:>9.3f} ms {ref1 * 1e3:>9.3f} ms {ratio:>6.2f} "
            f"{refn * 1e3:>9.3f} ms {ours / refn:>6.2f}  {verdict}")


def _batchnorm_case(torch, n: int, m: int, dtype):
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((n, m)).astype(dtype)
    G = rng.standard_normal((n, m)).astype(dtype)
    gamma, beta = np.ones((n, 1), dtype), np.zeros((n, 1), dtype)

    def ours():
        _, cache = batchnorm_forward(Z, gamma, beta)
        batchnorm_backward_by_autodiff(G, cache)     # what lessonlib computes with

    theirs = None
    if torch is not None:
        tdtype = torch.float64 if dtype == np.float64 else torch.float32
        layer = torch.nn.BatchNorm1d(n, eps=1e-5, dtype=tdtype)
        x = torch.tensor(Z.T.copy(), requires_grad=True)        # PyTorch is (m, n)
        g = torch.tensor(G.T.copy())

        def theirs():
            x.grad = None
            layer.zero_grad(set_to_none=True)
            layer(x).backward(g)

    return (f"batch norm fwd+bwd ({n}, {m}) {np.dtype(dtype).name}", ours, theirs,
            TARGETS["batchnorm"], {})


def bench_batchnorm(torch) -> list:
    return [_batchnorm_case(torch, n, m, dtype) for n, m in ((256, 512), (1024, 256))
            for dtype in (np.float64, np.float32)]


def _softmax_case(torch, C: int, m: int):
    rng = np.random.default_rng(1)
    Z = rng.standard_normal((C, m))
    y = rng.integers(0, C, m)
    Y = one_hot(y, C)

    def ours():
        softmax_cross_entropy_by_autodiff(Z, Y)

    theirs = None
    if torch is not None:
        z = torch.tensor(Z.T.copy(), requires_grad=True)
        t = torch.tensor(y)

        def theirs():
            z.grad = None
            torch.nn.functional.cross_entropy(z, t).backward()

    return (f"softmax cross-entropy fwd+bwd ({C}, {m})", ours, theirs, TARGETS["softmax"], {})


def bench_softmax(torch) -> list:
    return [_softmax_case(torch, C, m) for C, m in ((10, 4096), (1000, 512))]


def bench_epoch(torch) -> list[str]:
    """One epoch of notebook 03's network: 3 sigmoid layers of 100 units with batch norm,
    mini-batches of 60, plain gradient descent, then the training accuracy."""
    d = load_digits()
    X, y = d.train.X, d.train.y
    dims = [64, 100, 100, 100, 10]

    def ours():
        rng = np.random.default_rng(0)
        net = Network(dims, activation="sigmoid", batch_norm=True, rng=rng)
        train_epochs(net, Optimizer("gd", 0.5), X, y, epochs=1, batch_size=60, rng=rng)

    theirs = None
    if torch is not None:
        nn = torch.nn
        Xt, yt = torch.tensor(X.T.copy()), torch.tensor(y)

        def theirs():
            torch.manual_seed(0)
            layers = []
            for a, b in zip(dims[:-2], dims[1:-1]):
                layers += [nn.Linear(a, b, bias=False, dtype=torch.float64),
                           nn.BatchNorm1d(b, dtype=torch.float64), nn.Sigmoid()]
            net = nn.Sequential(*layers, nn.Linear(dims[-2], dims[-1], dtype=torch.float64))
            opt = torch.optim.SGD(net.parameters(), lr=0.5)
            order = torch.randperm(Xt.shape[0])
            for start in range(0, Xt.shape[0], 60):
                idx = order[start:start + 60]
                if idx.numel() < 2:
                    continue
                opt.zero_grad(set_to_none=True)
                nn.functional.cross_entropy(net(Xt[idx]), yt[idx]).backward()
                opt.step()
            with torch.no_grad():
                (net(Xt).argmax(1) == yt).double().mean().item()

    return [("one epoch, notebook 03's network (float64)", ours, theirs, TARGETS["epoch"],
             {"repeats": 5, "min_seconds": 0.2})]


def _checks_in_process(checks, ref=None) -> float:
    """Seconds the exercise ``checks`` (``grader.check_data.solved_checks``) take on the
    solved functions in this process, with the reference answers ``ref(notebook)`` (default:
    lessonlib's references, as the trusted grader has them)."""
    seconds = 0.0
    for check, fn, context in checks:
        answers = {} if ref is None else {"ref": ref(check.exercise.notebook)}
        start = time.perf_counter()
        check.evaluate(fn, **answers, **context)
        seconds += time.perf_counter() - start
    return seconds


def bench_check_data(paths) -> list[str]:
    """Per solved notebook: the size of the check data beside the learner notebooks, and the
    seconds its exercise checks take on the solved functions with lessonlib's references
    (as the trusted grader runs them) and replaying the check data as a check cell does,
    reading the file each time (``grader.oracle``)."""
    from .grader.check_data import solved_checks
    from .grader.notebook_files import learner_dir, notebook_name
    from .grader.oracle import data_path, replay_for
    rows = [f"{'':<26}{'data':>9}{'checks':>8}{'references':>12}{'replay':>9}{'ratio':>7}"]
    for path in paths:
        nb = read_notebook(path)
        size = data_path(learner_dir(), notebook_name(nb)).stat().st_size
        checks = list(solved_checks(nb))
        live = statistics.median(_checks_in_process(checks) for _ in range(3))
        replay = statistics.median(_checks_in_process(checks, replay_for) for _ in range(3))
        rows.append(f"{Path(path).stem:<26}{size / 1024:7.1f}kB{len(checks):8d}"
                    f"{live:11.3f}s{replay:8.3f}s{replay / live:7.2f}")
    return rows


def bench_notebooks(paths) -> list[str]:
    """Per solved notebook: a plain headless execution, ``grade`` (sandboxed, trusted
    checks), and what the sandbox and the trusted checks cost: ``grade`` without the
    sandbox, and the checks through the channel against the same checks in process."""
    from .grader import grade, sandbox
    from .grader.check_data import solved_checks
    sandboxed = sandbox.sandbox_status() is None
    rows = [f"{'':<26}{'run':>8}{'grade':>8}{'ratio':>7}   {'sandbox':>8}"
            f"{'checks: channel':>17}{'in process':>12}{'cost':>8}"]
    total_plain = total_graded = 0.0
    for path in paths:
        nb = read_notebook(path)
        start = time.perf_counter()
        NotebookClient(copy.deepcopy(nb), timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(Path(path).parent)}}).execute()
        plain = time.perf_counter() - start
        start = time.perf_counter()
        report = grade_notebook(path, sandboxed=sandboxed)
        graded = time.perf_counter() - start
        start = time.perf_counter()
        run = grade.execute(grade.prepare(path), sandboxed=False)
        unsandboxed = time.perf_counter() - start
        channel = sum(c.get("seconds", 0.0) for c in run.checks.values())
        local = _checks_in_process(list(solved_checks(nb)))
        trust = (graded - unsandboxed if sandboxed else 0.0) + channel - local
        ratio = graded / plain
        total_plain, total_graded = total_plain + plain, total_graded + graded
        verdict = ("ok" if ratio <= TARGETS["grade"] and trust <= TARGETS["trust"]
                   else "OVER")
        sandbox_cost = f"{graded - unsandboxed:+7.1f}s" if sandboxed else "    n/a"
        rows.append(f"{Path(path).stem:<26}{plain:7.1f}s{graded:7.1f}s{ratio:7.2f}   "
                    f"{sandbox_cost}{channel:16.2f}s{local:11.2f}s{trust:+7.1f}s  {verdict}"
                    + ("" if report.score == report.max_score else "  (not full marks!)"))
    if len(paths) > 1:
        rows.append(f"{'all of them':<26}{total_plain:7.1f}s{total_graded:7.1f}s"
                    f"{total_graded / total_plain:7.2f}")
    if not sandboxed:
        rows.append(f"(no sandbox here: {sandbox.sandbox_status()})")
    return rows


def _half_done(solved, learner):
    """A submission with every other exercise solved, the rest left as handed out."""
    from .grader.notebook_files import cell_info
    nb = copy.deepcopy(learner)
    solved_cells = {cell_info(c).get("exercise"): c for c in solved.cells
                    if cell_info(c).get("role") == "exercise"}
    k = 0
    for cell in nb.cells:
        if cell_info(cell).get("role") == "exercise":
            if k % 2 == 0:
                cell.source = solved_cells[cell_info(cell)["exercise"]].source
            k += 1
    return nb


def make_cohort(folder: Path, n_learners: int) -> list[Path]:
    """``n_learners`` folders of the six notebooks in ``folder``: each notebook solved, half
    done or not started, in turn. Returns the notebook files."""
    from .grader.notebook_files import dumps, learner_dir
    paths = []
    for path in sorted(solutions_dir().glob("*.ipynb")):
        solved, handed_out = read_notebook(path), read_notebook(learner_dir() / path.name)
        variants = [solved, _half_done(solved, handed_out), handed_out]
        for i in range(n_learners):
            out = folder / f"learner{i:03d}" / path.name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(dumps(variants[(i + len(paths)) % 3]), encoding="utf-8")
            paths.append(out)
    return sorted(paths)


def bench_cohort(n_learners: int) -> list[str]:
    """Submissions graded per minute, for a synthetic cohort of ``n_learners`` x 6
    notebooks: one at a time, ``--jobs`` on every core, and on a local Dask cluster of one
    worker process per core; then what isolation costs (``bench_isolation``)."""
    import tempfile

    from .grader import cohort, sandbox
    sandboxed = sandbox.sandbox_status() is None
    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory(prefix="lessonlib-cohort-bench-") as tmp:
        subs = [cohort.submission(p) for p in make_cohort(Path(tmp), n_learners)]
        runs = [("one at a time", {"jobs": 1}), (f"--jobs {cores}", {"jobs": cores})]
        cluster = None
        try:
            from dask.distributed import LocalCluster
            cluster = LocalCluster(n_workers=cores, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            runs.append((f"Dask, {cores} worker processes",
                         {"scheduler": cluster.scheduler_address}))
        except ImportError:
            rows.append("(Dask is not installed: pip install 'dask[distributed]')")
        try:
            seconds = {}
            for name, kw in runs:
                start = time.perf_counter()
                results = cohort.grade_cohort(subs, sandboxed=sandboxed, seed=1, **kw)
                seconds[name] = elapsed = time.perf_counter() - start
                assert all(r.grade is not None for r in results)
                rows.append(f"{name:<32}{len(subs):>4} submissions in {elapsed:6.1f} s"
                            f"{60 * len(subs) / elapsed:8.1f} per minute")
        finally:
            if cluster is not None:
                cluster.close()
        if sandboxed:
            rows += bench_isolation(subs, seconds["one at a time"] / len(subs),
                                    seconds[runs[1][0]], {"jobs": cores})
    return rows


def bench_isolation(subs, per_submission: float, sandboxed_seconds: float, kw: dict,
                    repeats: int = 10) -> list[str]:
    """What isolating each submission costs, measured beside the cohort's runs:

    - the box (``sandbox.Box``: a slot and its uid, a cgroup, the scratch tmpfs): the
      median seconds to open and close one, against ``per_submission``, the seconds a
      submission took graded one at a time (``sandbox.py`` has no switch that grades in
      the sandbox without the box, so the box is timed on its own);
    - the whole sandbox (the box and bubblewrap): the cohort graded with ``kw`` with and
      without it (``--no-sandbox``), in turn, twice more each beside ``sandboxed_seconds``;
      the fastest run of each, as the load of a shared machine only adds time.
    """
    import tempfile

    from .grader import cohort, sandbox
    samples = []
    with tempfile.TemporaryDirectory(prefix="lessonlib-box-bench-") as tmp:
        for _ in range(repeats):
            start = time.perf_counter()
            sandbox.Box(Path(tmp)).open().close()
            samples.append(time.perf_counter() - start)
    box = statistics.median(samples)
    runs: dict[bool, list[float]] = {True: [sandboxed_seconds], False: []}
    for sandboxed in (False, True, False):
        start = time.perf_counter()
        results = cohort.grade_cohort(subs, sandboxed=sandboxed, seed=1, **kw)
        runs[sandboxed].append(time.perf_counter() - start)
        assert all(r.grade is not None for r in results)
    bare, boxed = min(runs[False]), min(runs[True])
    flags = " ".join(f"--{k} {v}" for k, v in kw.items())
    return [f"{flags + ' --no-sandbox':<32}{len(subs):>4} submissions in {bare:6.1f} s"
            f"{60 * len(subs) / bare:8.1f} per minute",
            f"cost of isolation: the box (slot uid, cgroup, tmpfs) opens and closes in "
            f"{box * 1e3:.0f} ms, {box / per_submission:.1%} of a submission's "
            f"{per_submission:.2f} s one at a time;",
            f"  the whole sandbox (box and bubblewrap) takes {boxed / bare:.2f} times the "
            f"time without it (fastest of {len(runs[True])} and {len(runs[False])} runs)"]


def run(*, notebooks: bool = True, cohort: int = 0) -> str:
    """All benchmarks as printed text.

    PyTorch is timed twice: on one thread, like for like with numpy (whose element-wise
    work runs on one core; the verdict uses this ratio), and on its default threads.
    """
    os.environ.setdefault("LESSONLIB_HEADLESS", "1")
    tuned = tune_allocator()            # as training does (core.memory)
    torch = _torch()
    default_threads = torch.get_num_threads() if torch is not None else 0
    lines = [f"PyTorch {torch.__version__ if torch else 'absent'}; numpy {np.__version__}; "
             f"{os.cpu_count()} cores; median of repeated runs; glibc allocator "
             f"{'tuned (lessonlib.core.memory)' if tuned else 'as it was'}",
             f"{'':<44} {'lessonlib':>12} {'PyTorch 1 thread':>19} "
             f"{f'PyTorch {default_threads} threads':>19}"]
    cases = bench_batchnorm(torch) + bench_softmax(torch) + bench_epoch(torch)
    for name, ours, theirs, target, kw in cases:
        t_ours = _time(ours, **kw)
        t1 = tn = None
        if theirs is not None:
            torch.set_num_threads(1)
            t1 = _time(theirs, **kw)
            torch.set_num_threads(default_threads)
            tn = _time(theirs, **kw)
        lines.append(_row(name, t_ours, t1, tn, target))
    if notebooks:
        lines.append("")
        lines.append(f"solved notebooks: grade against a plain run (target <= "
                     f"{TARGETS['grade']:g}), and the cost of the sandbox and the trusted "
                     f"checks (target <= {TARGETS['trust']:g} s):")
        lines += bench_notebooks(sorted(solutions_dir().glob("*.ipynb")))
    lines.append("")
    lines.append("check cells: their check data, and their checks on the solved functions "
                 "with lessonlib's references and replaying the data (a check cell's way):")
    lines += bench_check_data(sorted(solutions_dir().glob("*.ipynb")))
    if cohort:
        lines.append("")
        lines.append(f"grading a synthetic cohort ({cohort} learners x 6 notebooks):")
        lines += bench_cohort(cohort)
    return "\n".join(lines)
