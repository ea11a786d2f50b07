"""Writing result files so that an interrupted run never leaves a half-written file behind."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

#: Files this process has written completely, in order (what an interrupted run kept).
written: list[Path] = []


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, flush it to disk, then rename over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600); outputs get the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
        written.append(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """CSV with a fixed float format, so the same numbers always give the same bytes."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format="%.10g", lineterminator="\n")
    atomic_write_text(path, buffer.getvalue())


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The bytes `write_parquet` writes for `frame`."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    atomic_write_bytes(path, parquet_bytes(frame))


@dataclass(frozen=True)
class FileJob:
    """A file whose bytes `fn(*args)` makes, as a task an executor can run elsewhere: `fn` is a
    module-level function and `args` can be pickled; the file is written where the job was
    made (see `write_files`). A job `here` is made in this process even beside a pool: its
    arguments are larger to ship than its work (a run's records), and this process is idle
    while the workers make the others."""

    path: Path
    fn: Callable[..., bytes]
    args: tuple = ()
    here: bool = False


def _make(fn: Callable[..., bytes], args: tuple) -> bytes:
    return fn(*args)


def write_files(jobs: Sequence[FileJob], executor: Any = None) -> dict[Path, bytes]:
    """Make every job's bytes and write each file (atomically) as soon as they exist.

    Without `executor`, or with one that runs in this process, the jobs run here, one after
    the other, in the given order. With workers (any other `sim.parallel` executor) they run
    on them, the first jobs first (put the longest first), while this process writes each
    file as its bytes arrive and makes the jobs marked `here` in threads of its own (as many
    as the executor has workers). A job's error stops the rest and is raised. The bytes of
    every file, by path, in job order."""
    jobs = list(jobs)
    contents: dict[Path, bytes] = {}

    def done(index: int, data: bytes | None, error: BaseException | None) -> None:
        if error is not None:
            raise error
        atomic_write_bytes(jobs[index].path, data)
        contents[jobs[index].path] = data

    def make_here(indices: list[int]) -> None:
        for index in indices:
            done(index, jobs[index].fn(*jobs[index].args), None)

    if executor is None or executor.in_process:
        make_here(list(range(len(jobs))))
        return {job.path: contents[job.path] for job in jobs}
    here = [i for i, job in enumerate(jobs) if job.here]
    away = [i for i, job in enumerate(jobs) if not job.here]
    # Each argument goes to the executor once (arguments shared by two jobs too).
    sent: dict[int, Any] = {}
    for index in away:
        for arg in jobs[index].args:
            if id(arg) not in sent:
                sent[id(arg)] = executor.scatter(arg)
    tasks = [(jobs[i].fn, tuple(sent[id(arg)] for arg in jobs[i].args)) for i in away]
    # One thread per job made here, as many at once as the executor has workers: encoding
    # Parquet releases the GIL, so with no plots to draw the files are made side by side.
    threads = max(1, min(len(here), executor.workers))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="write_files") as local:
        # Leaving the block waits for the threads, also when a worker's job failed.
        made_here = [local.submit(make_here, [index]) for index in here]
        executor.run_each(_make, tasks, lambda k, data, error: done(away[k], data, error))
        for future in made_here:
            future.result()
    return {job.path: contents[job.path] for job in jobs}


def remove_stale(candidates: Sequence[Path], written: Sequence[Path]) -> list[Path]:
    """Delete those of `candidates` (files a command may write) that exist but were not
    `written` by this run: left in a reused output folder by an earlier run, they would
    read as this run's (a comparison of variants not run, records of other replications).
    Returns the paths removed."""
    keep = {Path(p).resolve() for p in written}
    removed = []
    for path in map(Path, candidates):
        if path.is_file() and path.resolve() not in keep:
            path.unlink()
            removed.append(path)
    return removed
