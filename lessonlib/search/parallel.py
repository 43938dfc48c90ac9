"""Random search over a search space with the trials in parallel (notebooks 01 and 06).

Trials run through the standard ``concurrent.futures.Executor`` interface: ``n_jobs`` builds
a local process pool, ``executor=`` takes any executor (Dask's ``client.get_executor()``,
say). Each trial gets its own seed spawned from the search's ``rng`` before any trial runs,
so the results do not depend on where the trials ran.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import Executor, ProcessPoolExecutor

import numpy as np

from ..core.bars import progress_bar
from ..core.validate import as_callable, as_int, as_rng
from .spaces import sample_space


def _run_trial(job):
    trial_fn, params, seed = job
    return trial_fn(params, rng=np.random.default_rng(seed))


def random_search(trial_fn, space: dict, n_trials: int, *, rng: np.random.Generator,
                  n_jobs: int = 1, executor: Executor | None = None) -> list[dict]:
    """Random search: draw ``n_trials`` settings from ``space`` and score each in parallel.

    ``trial_fn(params, *, rng) -> float`` trains one model and returns its score (higher is
    better); it must be importable (defined in a module) to run in a process pool. Each
    trial gets its own seed spawned from ``rng`` before any trial runs, so the results are
    the same for any ``n_jobs`` and any ``executor`` (a ``concurrent.futures.Executor``,
    e.g. Dask's ``client.get_executor()``). ``n_jobs=-1`` uses every core. Returns one
    ``{"params": dict, "score": float, "seed": SeedSequence}`` per trial, in draw order.
    In JupyterLab a progress bar counts the finished trials (not in headless runs).
    """
    as_callable("trial_fn", trial_fn, "a function (params, *, rng) -> score")
    rng = as_rng(rng)
    n_jobs = as_int("n_jobs", n_jobs, low=-1)
    if n_jobs == 0:
        raise ValueError("n_jobs must be >= 1 or -1 (every core), got 0")
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError("executor must be a concurrent.futures.Executor, "
                        f"got {type(executor).__name__}")
    settings = sample_space(space, n_trials, rng=rng)
    seeds = np.random.SeedSequence(int(rng.integers(2**63))).spawn(n_trials)
    jobs = [(trial_fn, params, seed) for params, seed in zip(settings, seeds)]
    with contextlib.ExitStack() as stack:
        if executor is None and n_jobs != 1:
            workers = (os.cpu_count() or 1) if n_jobs == -1 else n_jobs
            executor = stack.enter_context(
                ProcessPoolExecutor(max_workers=min(workers, n_trials)))
        mapped = map(_run_trial, jobs) if executor is None else executor.map(_run_trial, jobs)
        scores = list(progress_bar(mapped, total=n_trials, desc="trials"))
    return [{"params": p, "score": float(s), "seed": seed}
            for p, s, seed in zip(settings, scores, seeds)]
