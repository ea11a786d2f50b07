"""The one executor every parallel run goes through: serial, local processes, or Dask.

`make_executor(workers, dask, shared=..., tasks=...)` gives one of

- `SerialExecutor`: tasks run in this process, one after the other (`workers` 1, no Dask);
- `LocalPool`: a process pool over this machine's cores;
- `DaskExecutor`: a Dask `LocalCluster` (`dask="local"`) or a running scheduler
  (`dask="tcp://host:8786"`).

All three have the same interface. `map(fn, tasks)` runs `fn(*args)` for every `args` of
`tasks` and returns the results in task order, whatever order they finished in, re-raising
the first error; `run_each(fn, tasks, on_done)` hands each result to `on_done` as it arrives
(for callers that write results as they come, such as the sweep). Callers put results back by
task index, never by finish order, so the output does not depend on the executor.

Handled here once, for every command:

- Ctrl-C: pool workers ignore SIGINT (the coordinating process handles it); on an interrupt the
  queued tasks are cancelled and the workers stopped at once (`abort`), so the interpreter
  exits without waiting for tasks whose results would not be used. (Serially, the interrupt
  simply stops the task running in this process.)
- Orphans: a pool worker whose coordinator died (e.g. SIGKILL) exits within a tenth of a
  second instead of lingering blocked on the task queue. Workers are stopped through a
  lock-free flag they share with the coordinator, so no private attribute of the pool (such as
  its list of processes) is needed.
- A broken pool: a worker that dies (killed, out of memory) breaks a `ProcessPoolExecutor`;
  the pool is restarted and the tasks it lost are submitted again, once. Lost a second time,
  they fail with `WorkerLost`. Dask reschedules a lost worker's tasks itself and gives up with
  its own `KilledWorker`, reported as `WorkerLost` too.

**Shared objects.** `shared=` gives every worker one large object once, instead of with
every task: the pool's initializer installs it in each worker process, Dask scatters it to
every worker (`Client.scatter(..., broadcast=True)`), the serial executor uses it as it is.
A task receives it where its arguments hold the `SHARED` marker. Each worker has its own copy,
so a worker may keep caches in it (the staffing search keeps each replication's buyers there);
changes made by a worker are never sent back.

**Worker counts.** `workers=None` means every core this process may use
(`default_workers()`); an explicit count is used as given. Either way no more local processes
are started than there are tasks (`tasks=`), and a single worker means the serial executor:
no process is started at all. With a scheduler address the cluster's own workers are used and
`workers` is ignored.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import CancelledError, Future
from typing import Any, Self


class ExecutorError(Exception):
    """An executor that cannot start (e.g. a Dask scheduler that cannot be reached)."""


class WorkerLost(RuntimeError):
    """A task whose worker process died (killed, out of memory) even after a retry."""


class _Shared:
    """The marker a task's arguments hold where the executor's shared object should go."""

    def __repr__(self) -> str:
        return "SHARED"

    def __reduce__(self) -> str:
        return "SHARED"   # unpickled as this module's singleton, in any process


#: Put in a task's arguments; the task receives the executor's `shared` object there.
SHARED = _Shared()


def default_workers() -> int:
    """Every core this process may run on (its CPU affinity where the system has one)."""
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def resolve_workers(workers: int | None, tasks: int | None = None) -> int:
    """How many workers to start: `workers` (default: `default_workers()`), at most one per
    task, at least one."""
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    count = default_workers() if workers is None else workers
    if tasks is not None:
        count = min(count, max(tasks, 1))
    return max(count, 1)


def make_executor(workers: int | None = None, dask: str | None = None, *, shared: Any = None,
                  tasks: int | None = None) -> Executor:
    """A Dask executor when `dask` names a scheduler (or 'local'); else a local process pool,
    or the serial executor when one worker is enough (see the module docstring)."""
    count = resolve_workers(workers, tasks)
    if dask:
        return DaskExecutor(dask, count, shared=shared)
    if count == 1:
        return SerialExecutor(shared=shared)
    return LocalPool(count, shared=shared)


# --- the common interface -------------------------------------------------------------------


class Executor:
    """What every executor offers; subclasses provide `submit`, `as_completed` and the rest.

    Use it as a context manager: leaving the block normally closes it (waiting for running
    tasks), leaving it by Ctrl-C aborts it (stops them).
    """

    workers: int = 1
    #: Whether its tasks run in this process (then a thread beside them gains nothing).
    in_process: bool = False

    def __init__(self, shared: Any = None):
        self._shared = shared
        self._prepared: list[Callable] = []

    # Provided by each executor.

    def describe(self) -> str:
        raise NotImplementedError

    def submit(self, fn: Callable, *args, key: str | None = None) -> Future:
        """Start `fn(*args)`; a future of its result. `key` names it (on a Dask dashboard)."""
        raise NotImplementedError

    def scatter(self, obj: Any) -> Any:
        """`obj` where a task argument may hold it: itself here and on local processes; on
        Dask a reference to one copy sent ahead to the cluster, so that a large argument (a
        run's records) travels once and not inside the task graph."""
        return obj

    def as_completed(self, futures: Iterable) -> Iterator:
        """The futures in the order they finish."""
        raise NotImplementedError

    def abort(self, futures: Iterable = ()) -> None:
        """Stop now (Ctrl-C): cancel `futures` and what is queued, stop the running tasks. The
        executor cannot be used afterwards."""

    def close(self) -> None:
        """Release the workers once the running tasks have finished."""

    def _cancel(self, futures: Iterable) -> None:
        """Cancel the queued tasks among `futures` and keep the executor usable."""
        for future in futures:
            future.cancel()

    def _lost_worker(self, error: BaseException) -> str | None:
        """Why `error` means a worker died rather than the task failing (None when not)."""
        return None

    def _retry_lost(self) -> bool:
        """Whether tasks a dead worker took along are worth submitting again (after a restart
        of what broke)."""
        return False

    def _restart_if_broken(self) -> None:
        """Replace a pool that a dead worker broke."""

    # Built on the above, the same for every executor.

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None and not issubclass(exc_type, Exception):
            self.abort()
        else:
            self.close()

    def prepare(self, fn: Callable) -> None:
        """Run `fn()` on the workers once they run out of tasks: submitted once per worker
        right behind the tasks of the next `run_each` (or `map`), its result and any error
        ignored. For what a later task needs on every worker and can be done ahead of it
        (`run` loads the plotting library this way, so that a worker idle at the end of the
        replications does it instead of the first plot waiting for it). `fn` must be cheap to
        run again on a worker that has done it. Nothing is done on an executor that runs its
        tasks in this process: the later task does the work itself, as it would anyway."""
        if not self.in_process:
            self._prepared.append(fn)

    def _submit_prepared(self, prefix: str) -> None:
        prepared, self._prepared = self._prepared, []
        for i, fn in enumerate(prepared):
            for worker in range(self.workers):
                self.submit(fn, key=f"{prefix}-prepare-{i}-{worker}")

    def _check_shared(self, args: tuple) -> None:
        if self._shared is None and any(arg is SHARED for arg in args):
            raise ValueError("a task asks for SHARED but the executor was given no shared=")

    def run_each(self, fn: Callable, tasks: Iterable[Sequence], on_done: Callable, *,
                 keys: Sequence[str] | None = None) -> None:
        """Run `fn(*args)` for every `args` of `tasks`; call `on_done(index, result, error)` in
        this process as each finishes (in finish order), `error` None or what the task raised.

        Tasks lost with a dead worker are run again once before they are reported (as
        `WorkerLost`). If `on_done` raises, the queued tasks are cancelled and the error
        propagates; on Ctrl-C (any non-`Exception`) the executor is aborted. `keys` name the
        tasks (unique within the call) on a Dask scheduler.
        """
        tasks = [tuple(args) for args in tasks]
        for args in tasks:
            self._check_shared(args)
        names = [str(i) for i in range(len(tasks))] if keys is None else [str(k) for k in keys]
        if len(names) != len(tasks):
            raise ValueError(f"{len(names)} keys for {len(tasks)} tasks")
        # Dask keys must be unique on a shared scheduler, also across concurrent runs.
        session = uuid.uuid4().hex[:8]
        todo = list(range(len(tasks)))
        for attempt in range(2):
            retry = attempt == 0 and self._retry_lost()
            todo = self._pass(fn, tasks, todo, names, on_done, f"supportsim-{session}-{attempt}",
                              retry)
            if not todo:
                return

    def _pass(self, fn: Callable, tasks: list[tuple], todo: list[int], names: list[str],
              on_done: Callable, prefix: str, retry: bool) -> list[int]:
        """Submit the tasks `todo`, report each as it finishes; those lost (when `retry`)."""
        futures: dict[Any, int] = {}
        lost: list[int] = []
        try:
            for index in todo:
                futures[self.submit(fn, *tasks[index], key=f"{prefix}-{names[index]}")] = index
            self._submit_prepared(prefix)
            for future in self.as_completed(list(futures)):
                index = futures[future]
                try:
                    result = future.result()
                except (Exception, CancelledError) as exc:  # noqa: BLE001 - handed to on_done
                    reason = self._lost_worker(exc)
                    if reason is None:
                        on_done(index, None, exc)
                    elif retry:
                        lost.append(index)
                    else:
                        error = WorkerLost(f"{reason} while this task was running or queued, "
                                           "and again after a restart"
                                           if self._retry_lost() else reason)
                        error.__cause__ = exc
                        on_done(index, None, error)
                else:
                    on_done(index, result, None)
        except Exception:
            # An error in `on_done` (e.g. a task's error re-raised by `map`): stop what is
            # queued, keep the executor usable.
            self._cancel(futures)
            self._restart_if_broken()
            raise
        except BaseException:
            # Ctrl-C: stop everything now.
            self.abort(futures)
            raise
        self._restart_if_broken()
        return lost

    def map(self, fn: Callable, tasks: Iterable[Sequence], *, progress: Any = None,
            keys: Sequence[str] | None = None) -> list:
        """`[fn(*args) for args in tasks]`, run on the executor, in task order.

        The first task error (in finish order) is re-raised and the queued tasks cancelled.
        `progress`: a tqdm bar, advanced by one per finished task, or a callable
        `progress(index, result)` called as each finishes (it may raise to stop the map).
        """
        tasks = [tuple(args) for args in tasks]
        results: list = [None] * len(tasks)

        def done(index: int, result: Any, error: BaseException | None) -> None:
            if error is not None:
                raise error
            results[index] = result
            if progress is None:
                return
            if hasattr(progress, "update"):
                progress.update(1)
            else:
                progress(index, result)

        self.run_each(fn, tasks, done, keys=keys)
        return results


# --- in this process ------------------------------------------------------------------------


class SerialExecutor(Executor):
    """Every task in this process, in task order: no pickling, no processes."""

    in_process = True

    def describe(self) -> str:
        return "this process (serial)"

    def _args(self, args: tuple) -> tuple:
        self._check_shared(args)
        return tuple(self._shared if arg is SHARED else arg for arg in args)

    def submit(self, fn: Callable, *args, key: str | None = None) -> Future:
        """Runs the task at once; the future is already done."""
        future: Future = Future()
        try:
            future.set_result(fn(*self._args(args)))
        except Exception as exc:  # noqa: BLE001 - kept in the future, as a pool would
            future.set_exception(exc)
        return future

    def as_completed(self, futures: Iterable) -> Iterator:
        return iter(list(futures))

    def run_each(self, fn: Callable, tasks: Iterable[Sequence], on_done: Callable, *,
                 keys: Sequence[str] | None = None) -> None:
        # One task at a time, each reported before the next starts (a sweep writes every
        # result as soon as it exists, also when run serially).
        for index, args in enumerate(tasks):
            args = self._args(tuple(args))
            try:
                result = fn(*args)
            except Exception as exc:  # noqa: BLE001 - handed to on_done
                on_done(index, None, exc)
            else:
                on_done(index, result, None)


# --- local processes ------------------------------------------------------------------------

#: In a pool worker: the executor's shared object, installed by `_init_worker`.
_WORKER_SHARED: Any = None


#: How often a pool worker looks for an abort or a dead coordinator, in seconds.
_WATCH_INTERVAL_S = 0.1


def _init_worker(stop, shared: Any) -> None:
    """Set up a pool worker: Ctrl-C is the coordinator's to handle (it stops the pool and keeps
    finished files); the worker exits when the coordinator raises the shared `stop` flag
    (abort), or finds that the coordinator died (e.g. SIGKILL), instead of finishing its task
    or lingering as an orphan blocked on the task queue."""
    global _WORKER_SHARED
    _WORKER_SHARED = shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        # A lock-free flag, polled: a multiprocessing Event would hang its `set()` on the
        # waiters of workers that had already exited.
        while os.getppid() == parent and not stop.value:
            time.sleep(_WATCH_INTERVAL_S)
        os._exit(1)

    threading.Thread(target=watch, name="supportsim-parent-watch", daemon=True).start()


def _call_in_worker(fn: Callable, args: tuple) -> Any:
    return fn(*(_WORKER_SHARED if arg is SHARED else arg for arg in args))


@contextlib.contextmanager
def _sigint_held():
    """Hold a Ctrl-C back while a submit may fork a worker, and deliver it right after.

    A SIGINT that arrives inside the fork's own handlers (the logging module releases its lock
    there) is reported as "Exception ignored" and lost, and the run would go on to the end;
    held back, it is raised as a KeyboardInterrupt in the code that submitted. Workers ignore
    SIGINT anyway, so the mask they inherit changes nothing for them."""
    if threading.current_thread() is not threading.main_thread() or \
            not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class LocalPool(Executor):
    """A `ProcessPoolExecutor` over this machine's cores."""

    def __init__(self, workers: int, shared: Any = None):
        super().__init__(shared)
        self.workers = workers
        # The pool's own default context, named so that the stop flag matches it.
        self._context = multiprocessing.get_context()
        self._start()

    def _start(self) -> None:
        from concurrent.futures import ProcessPoolExecutor

        self._stop = self._context.RawValue("b", 0)
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=self._context,
                                         initializer=_init_worker,
                                         initargs=(self._stop, self._shared))
        self._broken = False

    def describe(self) -> str:
        return f"{self.workers} local process{'es' if self.workers != 1 else ''}"

    def submit(self, fn: Callable, *args, key: str | None = None) -> Future:
        from concurrent.futures.process import BrokenProcessPool

        self._check_shared(args)
        try:
            with _sigint_held():
                return self._pool.submit(_call_in_worker, fn, args)
        except BrokenProcessPool as exc:   # broke while tasks were still being submitted
            future: Future = Future()
            future.set_exception(exc)
            return future

    def as_completed(self, futures: Iterable) -> Iterator:
        from concurrent.futures import as_completed

        return as_completed(list(futures))

    def _lost_worker(self, error: BaseException) -> str | None:
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(error, BrokenProcessPool):
            self._broken = True
            return "a worker process died (killed by a signal, or out of memory)"
        return None

    def _retry_lost(self) -> bool:
        return True

    def _restart_if_broken(self) -> None:
        """A worker that died breaks the whole pool: start a new one."""
        if self._broken:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._stop.value = 1
            self._start()

    def abort(self, futures: Iterable = ()) -> None:
        # The pool cancels the queued tasks itself (cancelling them from here races with its
        # own bookkeeping). Tasks in flight would otherwise run to the end before the
        # interpreter can exit, and their results would not be used anyway: the stop flag
        # makes every worker exit within `_WATCH_INTERVAL_S`.
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._stop.value = 1

    def close(self) -> None:
        self._pool.shutdown(wait=True)


# --- Dask -----------------------------------------------------------------------------------


class DaskExecutor(Executor):
    """Tasks on a Dask cluster: `local` starts a `LocalCluster`, else `tcp://host:port`."""

    def __init__(self, address: str, workers: int, shared: Any = None):
        import logging

        from distributed import Client, LocalCluster

        super().__init__(shared)
        self.address = address
        self._cluster = None
        self._closed = False
        if address == "local":
            # Worker processes inherit an ignored SIGINT, so Ctrl-C reaches only this process,
            # which then closes the cluster (instead of every worker printing a traceback).
            # The scheduler's web server takes any free port: a second cluster on the machine
            # (another command, another sweep) would otherwise warn about port 8787.
            main_thread = threading.current_thread() is threading.main_thread()
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
            try:
                self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                             processes=True, dashboard_address=":0",
                                             silence_logs=logging.ERROR)
            finally:
                if main_thread:
                    signal.signal(signal.SIGINT, previous)
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(address, timeout="20s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise ExecutorError(f"--dask {address}: cannot reach the scheduler: {exc}") from None
        self.workers = max(1, sum(self._client.nthreads().values()))
        self._scattered = None
        if shared is not None:
            # In a list: a dict (or a sequence) would be scattered item by item.
            self._scattered = self._client.scatter([shared], broadcast=True, hash=False)[0]

    def describe(self) -> str:
        threads = sum(self._client.nthreads().values())
        where = "a local Dask cluster" if self._cluster else f"Dask at {self.address}"
        return f"{where} ({threads} worker thread{'s' if threads != 1 else ''})"

    def submit(self, fn: Callable, *args, key: str | None = None):
        self._check_shared(args)
        args = tuple(self._scattered if arg is SHARED else arg for arg in args)
        return self._client.submit(fn, *args, key=key, pure=False)

    def scatter(self, obj: Any) -> Any:
        # In a list: a dict (or a sequence) would be scattered item by item.
        return self._client.scatter([obj], hash=False)[0]

    def as_completed(self, futures: Iterable) -> Iterator:
        from distributed import as_completed

        return iter(as_completed(list(futures)))

    def _cancel(self, futures: Iterable) -> None:
        futures = list(futures)
        if futures:
            self._client.cancel(futures)

    def _lost_worker(self, error: BaseException) -> str | None:
        from distributed import KilledWorker

        if isinstance(error, KilledWorker):
            return f"Dask lost the workers running this task: {error}"
        return None

    def abort(self, futures: Iterable = ()) -> None:
        if not self._closed:
            self._cancel(futures)
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._scattered is not None:
            self._scattered.release()
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
