"""Scenario sweeps: a grid of dotted-path overrides of a base scenario, run in parallel.

A sweep spec (YAML, see `docs/sweeps.md`) names a base scenario, a grid (cartesian product of
value lists) and/or explicit points, replications and the metrics of interest. Every
(point x variant x replication) is one task; a task's seed is the scenario's seed and its
replication index, never its place in the execution order, so any executor (a local process
pool, a `LocalCluster`, a remote Dask scheduler) gives the same numbers bit for bit.

Each finished task becomes one Parquet file named by a hash of what determines it (resolved
scenario, replication, seed), written atomically by the coordinating process; running the sweep
again skips tasks whose file exists. `sweep_summary.csv` is rebuilt from those files at the end.
"""

from __future__ import annotations

import copy
import hashlib
import io
import itertools
import json
import math
import sys
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from tqdm import tqdm

import sim
from sim.analysis import registry
from sim.engine import limits
from sim.experiment import run_one, summarize_replications
from sim.output.files import atomic_write_bytes, write_csv
from sim.parallel import make_executor
from sim.scenario import (
    Scenario,
    ScenarioError,
    load_document,
    read_mapping,
    scenario_from_dict,
    set_dotted,
    variant_document,
)

SUMMARY_FILE = "sweep_summary.csv"
FAILURES_FILE = "sweep_failures.csv"
TASKS_DIR = "tasks"
#: Bumped when a task file's layout changes, so old files are not mistaken for new ones.
TASK_FORMAT = 1
#: Scenario fields that cannot change one replication's result (left out of the task hash).
NOT_IN_RUN = {"description": True, "replications": True, "variants": True, "targets": True,
              "warnings": True, "metrics": {"currency"}}
#: The metric the terminal table and the plots show when the spec names none.

#: What each task calls: `runner(scenario, replication, seed) -> (metrics, series, tables)`,
#: like `sim.experiment.run_one`. Replaceable, e.g. by tests that need a task to fail.
DEFAULT_RUNNER: Callable = run_one


# --- the spec -------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Direction = Literal["at_least", "at_most"]
DIRECTIONS = typing.get_args(Direction)


class SweepTarget(_Strict):
    """A requirement on a metric, e.g. reply_rate_5min at least 0.95 (drawn as a contour).

    `direction` defaults to the way the metric's entry in `sim.analysis.registry` says is
    better (at_least for a rate, at_most for a wait or a cost) and may not go against it; a
    metric better neither way (e.g. occupancy) needs one. A name the registry does not know is
    reported once the runs are done (`check_metric_names`), with the names they report.
    """

    metric: str
    value: float
    direction: Direction | None = None

    @model_validator(mode="before")
    @classmethod
    def _direction_from_registry(cls, data):
        given = data.get("direction") if isinstance(data, dict) else None
        if given is not None and (not isinstance(given, str) or given not in DIRECTIONS):
            # Before the registry's "better when higher": that would hide the typo.
            shown = repr(given) if isinstance(given, str) else str(given)
            raise ValueError(f"direction: {shown[:40]} is not one of {', '.join(DIRECTIONS)}")
        if not (isinstance(data, dict) and isinstance(data.get("metric"), str)
                and registry.is_metric(data["metric"])):
            return data
        metric, given = data["metric"], data.get("direction")
        better = registry.target_direction(metric)
        if given is None:
            if better is None:
                raise ValueError(f"{metric} is better neither higher nor lower: give "
                                 "direction: at_least or at_most")
            return {**data, "direction": better}
        if better is not None and given != better:
            raise ValueError(f"{metric} is better when {registry.better(metric)}, so the "
                             f"target's direction is {better}")
        return data

    def holds(self, value: float) -> bool:
        if self.direction is None:
            raise ValueError(f"target on {self.metric!r} has no direction")
        return value >= self.value if self.direction == "at_least" else value <= self.value


class PlotSettings(_Strict):
    """Which plots to draw: x axis, one line per value of `by`, other parameters `fixed`."""

    x: str | None = None
    by: str | None = None
    metrics: list[str] | None = Field(default=None, min_length=1)
    fixed: dict[str, Any] = {}


class SweepSpec(_Strict):
    """A sweep: base scenario, the points to run, replications and what to report."""

    scenario: str = Field(min_length=1, description="base scenario, relative to the spec file")
    description: str = ""
    replications: Annotated[int, Field(ge=1, le=10_000)] | None = None
    seed: Annotated[int, Field(ge=0)] | None = None
    variants: list[str] | None = Field(default=None, min_length=1)
    metrics: list[str] | None = Field(default=None, min_length=1)
    grid: dict[str, list[Any]] | None = None
    points: list[dict[str, Any]] | None = None
    target: SweepTarget | None = None
    plots: PlotSettings = PlotSettings()
    labels: dict[str, Annotated[str, Field(min_length=1, max_length=80)]] = Field(
        default={}, description="axis names of swept parameters, by path (a grid entry may "
        "also be written {values: [...], label: ...})")

    @model_validator(mode="before")
    @classmethod
    def _labelled_grid(cls, data):
        """A grid entry written {values: [...], label: "..."}: the values go to the grid,
        the label to `labels`."""
        if not (isinstance(data, dict) and isinstance(data.get("grid"), dict)
                and isinstance(data.get("labels", {}), dict)):
            return data  # the fields' own validation reports what is wrong
        grid, labels = {}, dict(data.get("labels", {}))
        for path, entry in data["grid"].items():
            if isinstance(entry, dict):
                unknown = [k for k in entry if k not in ("values", "label")]
                if unknown or "values" not in entry:
                    raise ValueError(
                        f"grid[{path}]: a grid entry is a list of values or "
                        f"{{values: [...], label: ...}}"
                        + (f" (unknown key {unknown[0]!r})" if unknown else
                           " (values is missing)"))
                if "label" in entry:
                    labels[path] = entry["label"]
                entry = entry["values"]
            grid[path] = entry
        return {**data, "grid": grid, **({"labels": labels} if labels else {})}

    @field_validator("grid")
    @classmethod
    def _grid(cls, grid):
        if grid is not None and not grid:
            raise ValueError("the grid is empty: give at least one parameter and its values")
        for path, values in (grid or {}).items():
            _check_path_syntax(path)
            if not values:
                raise ValueError(f"{path}: empty list of values")
            seen = set()
            for value in values:
                canonical = _canonical(value)
                if canonical in seen:
                    raise ValueError(f"{path}: value {value!r} is listed twice")
                seen.add(canonical)
        return grid

    @field_validator("points")
    @classmethod
    def _points(cls, points):
        if points is not None and not points:
            raise ValueError("the list of points is empty")
        for number, point in enumerate(points or []):
            if not point:
                raise ValueError(f"point {number} sets no parameter")
            for path in point:
                _check_path_syntax(path)
        return points

    @field_validator("variants", "metrics")
    @classmethod
    def _unique(cls, names):
        if names is not None and len(set(names)) != len(names):
            raise ValueError("a name is listed twice")
        return names

    @model_validator(mode="after")
    def _something_to_run(self):
        if self.grid is None and self.points is None:
            raise ValueError("give a grid (parameter: [values, ...]) and/or a list of points")
        return self


def _check_path_syntax(path: str) -> None:
    parts = path.split(".")
    if not path or any(not part for part in parts):
        raise ValueError(f"{path!r} is not a dotted path such as groups.presale_team.concurrency")
    if parts[0] in ("name", "variants"):
        raise ValueError(f"{path}: {parts[0]} cannot be swept")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check a sweep spec file; errors name the file and the field."""
    path = Path(path)
    document = read_mapping(path, "sweep")
    try:
        return SweepSpec.model_validate(document)
    except ValidationError as exc:
        raise ScenarioError(_format_spec_errors(path, exc)) from None


def _format_spec_errors(path: Path, exc: ValidationError) -> str:
    known = ", ".join(SweepSpec.model_fields)
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = ".".join(str(p) for p in loc[:1])
        for part in loc[1:]:
            # Grid and point keys are dotted paths themselves: bracket them to stay readable.
            where += f"[{part}]" if (isinstance(part, int) or "." in str(part)
                                     or loc[0] in ("grid", "points")) else f".{part}"
        message = error["msg"].removeprefix("Value error, ")
        head, sep, rest = message.partition(": ")
        if sep and loc == ["target"] and head in SweepTarget.model_fields:
            # The target's own check names the field it concerns.
            where, message = f"target.{head}", rest
        if error["type"] == "extra_forbidden":
            message = ("unknown key" + (f" (known: {known})" if len(loc) == 1 else ""))
        elif error["type"] == "missing":
            message = "required field is missing"
        elif error["type"] == "list_type" and loc[0] == "grid":
            message = "expected a list of values, e.g. [2, 3]"
        lines.append(f"{path}: {where or '(top level)'}: {message}")
    return "\n".join(dict.fromkeys(lines))


# --- checking parameter paths against the scenario model --------------------------------------


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may take (Annotated and Optional peeled off)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)
                if t is not type(None)]
    return [annotation]


def parameter_path_problem(path: str, document: dict | None = None) -> str | None:
    """Why `path` names nothing in a scenario (None when it may), checked against the model.

    Keys of mappings (topic and group names, headcount times) are free, except that with the
    base `document` a path may not reach *inside* an entry the base does not have (a typo such
    as groups.presale_tema.concurrency would otherwise create a half-defined group). Names the
    model accepts but the scenario does not know are left to the scenario's own validation.
    """
    options: list[Any] = [Scenario]
    node: Any = document
    parts = path.split(".")
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth]) or "the scenario"
        following: list[Any] = []
        for option in options:
            origin = typing.get_origin(option)
            if isinstance(option, type) and issubclass(option, BaseModel):
                for name, info in option.model_fields.items():
                    if part in (name, info.alias):
                        following.extend(_unwrap(info.annotation))
            elif origin is dict:
                if (isinstance(node, dict) and part not in node and depth < len(parts) - 1):
                    return (f"{where} has no entry {part!r} in the base scenario (entries: "
                            f"{', '.join(map(str, node)) or 'none'}); to add one, set the "
                            f"whole entry as {'.'.join(parts[:depth + 1])}")
                following.extend(_unwrap(typing.get_args(option)[1]))
            elif origin is list:
                if part.isdigit():
                    following.extend(_unwrap(typing.get_args(option)[0]))
            elif option is Any:
                return None
        if not following:
            models = [o for o in options if isinstance(o, type) and issubclass(o, BaseModel)]
            if models:
                fields = sorted({n for m in models for n, i in m.model_fields.items()})
                return f"{where} has no field {part!r} (fields: {', '.join(fields)})"
            if any(typing.get_origin(o) is list for o in options):
                return f"{where} is a list: {part!r} is not an index"
            return f"{where} is a single value, not a section"
        options = [t for i, t in enumerate(following) if t not in following[:i]]
        node = get_dotted(node, part) if node is not None else None
    return None


def get_dotted(document: Any, path: str) -> Any:
    """The value at `a.b.c` in a nested document, or None when it is not set there."""
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


# --- the plan: every point and task, validated before anything runs ---------------------------


@dataclass(frozen=True)
class Task:
    """One replication of one resolved scenario; `key` names its result file."""

    key: str
    scenario: Scenario
    replication: int
    seed: int


@dataclass(frozen=True)
class Run:
    """A (point, variant, replication) of the sweep and the task that computes it."""

    point: int
    variant: str
    replication: int
    key: str


@dataclass
class Plan:
    """A checked sweep: its points, their scenarios, and the tasks to run."""

    spec_path: Path
    spec: SweepSpec
    base_path: Path
    parameters: list[str]
    points: list[dict[str, Any]]
    variants: list[str]
    replications: int
    runs: list[Run]
    tasks: dict[str, Task]
    base_document: dict

    def describe_point(self, index: int) -> str:
        return describe(self.points[index])

    def runs_of(self, key: str) -> list[Run]:
        return [run for run in self.runs if run.key == key]


def describe(point: dict[str, Any]) -> str:
    return "(" + ", ".join(f"{path}={_scalar(value)}" for path, value in point.items()) + ")"


def _scalar(value: Any) -> Any:
    """A parameter value as a table cell: scalars as they are, anything else as JSON."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def scenario_fingerprint(scenario: Scenario) -> str:
    """The resolved scenario as canonical JSON, without the fields that cannot change a run.

    Dict order is kept (no sort): the order of topics or groups can change which random draw
    goes where, so two documents differing only in order are different scenarios.
    """
    dumped = scenario.model_dump(mode="json", by_alias=True, exclude=NOT_IN_RUN)
    return json.dumps(dumped, separators=(",", ":"), default=str)


def task_key(scenario: Scenario | str, replication: int, seed: int) -> str:
    """Hash of everything that determines one task's result (a scenario or its fingerprint)."""
    fingerprint = scenario if isinstance(scenario, str) else scenario_fingerprint(scenario)
    text = json.dumps([TASK_FORMAT, sim.__version__, replication, seed]) + fingerprint
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def expand_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """Grid points (cartesian product, first parameter slowest), then explicit points; a point
    listed twice is kept once."""
    points: list[dict[str, Any]] = []
    if spec.grid:
        paths = list(spec.grid)
        points.extend(dict(zip(paths, combo)) for combo in itertools.product(*spec.grid.values()))
    points.extend(dict(point) for point in spec.points or [])
    unique = {}
    for point in points:
        unique.setdefault(_canonical(point), point)
    return list(unique.values())


def load_plan(spec_path: str | Path, replications: int | None = None,
              allow_large: bool = False) -> Plan:
    """Read a spec and its base scenario, and validate every point x variant before any run.

    Raises `ScenarioError` naming the spec file and the field for an unknown parameter path,
    an empty grid, a value the scenario rejects, an unknown variant, a point whose runs would
    be absurdly large (`sim.engine.limits`, unless `allow_large`), and so on.
    """
    spec_path = Path(spec_path)
    spec = load_spec(spec_path)
    base_path = (spec_path.parent / spec.scenario)
    try:
        base_document, _ = load_document(base_path)
    except ScenarioError as exc:
        raise ScenarioError(f"{spec_path}: scenario: {exc}") from None
    base = scenario_from_dict(base_document, source=str(base_path), base_dir=base_path.parent)

    for section, paths in (("grid", list(spec.grid or {})),
                           *((f"points[{i}]", list(p)) for i, p in enumerate(spec.points or []))):
        for path in paths:
            problem = parameter_path_problem(path, base_document)
            if problem:
                raise ScenarioError(f"{spec_path}: {section}[{path}]: unknown parameter path: "
                                    f"{problem}")

    variants = list(spec.variants or base.variant_names)
    unknown = [v for v in variants if v not in base.variant_names]
    if unknown:
        raise ScenarioError(f"{spec_path}: variants: unknown variant(s) {', '.join(unknown)} in "
                            f"{base_path} (known: {', '.join(base.variant_names)})")

    points = expand_points(spec)
    parameters = list(dict.fromkeys(path for point in points for path in point))
    _check_plot_settings(spec_path, spec, parameters)
    replications = replications or spec.replications or base.replications

    runs: list[Run] = []
    tasks: dict[str, Task] = {}
    for index, point in enumerate(points):
        source = f"{spec_path}: point {describe(point)}"
        resolved = point_scenarios(base_document, base_path, point, variants, source)
        for variant, scenario in resolved.items():
            # Per scenario, not per sweep: a big sweep is what clusters are for.
            limits.check(scenario, runs=replications, allow_large=allow_large,
                         source=f"{source} variant {variant}")
            seed = scenario.seed if spec.seed is None else spec.seed
            fingerprint = scenario_fingerprint(scenario)
            for replication in range(replications):
                key = task_key(fingerprint, replication, seed)
                tasks.setdefault(key, Task(key, scenario, replication, seed))
                runs.append(Run(index, variant, replication, key))
    return Plan(spec_path, spec, base_path, parameters, points, variants, replications, runs,
                tasks, base_document)


def point_scenarios(base_document: dict, base_path: Path, point: dict[str, Any],
                    variants: Iterable[str], source: str) -> dict[str, Scenario]:
    """The scenario of every variant at one point: the base document with the point's
    overrides applied, then each variant's overrides on top (a variant wins on a shared path)."""
    document = copy.deepcopy(base_document)
    for path, value in point.items():
        set_dotted(document, path, copy.deepcopy(value), source)
    scenario = scenario_from_dict(document, source=source, base_dir=base_path.parent)
    # From the validated scenario's dump, as `resolve_variants` does, so that paths such as a
    # counts_csv file are already pinned; only the variants the sweep runs.
    resolved = scenario.model_dump(mode="json", by_alias=True)
    return {name: variant_document(resolved, name, source, base_path.parent)
            for name in variants}


def _check_plot_settings(spec_path: Path, spec: SweepSpec, parameters: list[str]) -> None:
    for name in ("x", "by"):
        value = getattr(spec.plots, name)
        if value is not None and value not in parameters:
            raise ScenarioError(f"{spec_path}: plots.{name}: {value!r} is not a swept parameter "
                                f"(swept: {', '.join(parameters)})")
    if spec.metrics:
        named = [("target.metric", [spec.target.metric] if spec.target else []),
                 ("plots.metrics", spec.plots.metrics or [])]
        for where, names in named:
            for name in names:
                if name not in spec.metrics:
                    raise ScenarioError(f"{spec_path}: {where}: {name!r} is not among metrics "
                                        "(the summary holds only those): add it there")
    for path in spec.plots.fixed:
        if path not in parameters:
            raise ScenarioError(f"{spec_path}: plots.fixed[{path}]: not a swept parameter "
                                f"(swept: {', '.join(parameters)})")
    for path in spec.labels:
        if path not in parameters:
            raise ScenarioError(f"{spec_path}: labels[{path}]: not a swept parameter "
                                f"(swept: {', '.join(parameters)})")


def unknown_metrics(plan: Plan, known: Iterable[str]) -> list[tuple[str, str]]:
    """(field, name) of each metric the spec names that is not among `known`."""
    known = set(known)
    spec = plan.spec
    named = [("metrics", spec.metrics or []), ("plots.metrics", spec.plots.metrics or []),
             ("target.metric", [spec.target.metric] if spec.target else [])]
    return [(where, name) for where, names in named for name in names if name not in known]


def check_metric_names(plan: Plan, known: list[str]) -> None:
    """Fail with the spec's field when it names a metric no finished run reports.

    Checked once the runs are done (some metrics exist only for some scenarios, e.g. the
    occupancy of a group a variant adds); the task files keep every metric, so after fixing
    the name a rerun recomputes nothing.
    """
    for where, name in unknown_metrics(plan, known)[:1]:
        raise ScenarioError(f"{plan.spec_path}: {where}: unknown metric {name!r} (known: "
                            f"{', '.join(known)}); the finished runs are kept: fix the name "
                            "and run again")


# --- task files ---------------------------------------------------------------------------


def task_path(out_dir: Path, key: str) -> Path:
    return Path(out_dir) / TASKS_DIR / f"{key}.parquet"


def write_task(path: Path, task: Task, values: dict[str, float]) -> None:
    """One task's metrics as a one-row Parquet file; the resolved scenario rides along in the
    file's metadata so a result can always be traced to what produced it."""
    columns = {"replication": pa.array([task.replication], pa.int64())}
    for name, value in values.items():
        columns[name] = pa.array([float(value)], pa.float64())
    table = pa.table(columns)
    provenance = {
        "key": task.key, "replication": task.replication, "seed": task.seed,
        "version": sim.__version__,
        "scenario": task.scenario.model_dump(mode="json", by_alias=True, exclude=NOT_IN_RUN),
    }
    table = table.replace_schema_metadata(
        {b"supportsim.sweep_task": json.dumps(provenance, default=str).encode("utf-8")})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def read_task(path: Path) -> dict[str, float]:
    row = pq.read_table(path).to_pylist()[0]
    row.pop("replication", None)
    return row


def _execute(runner: Callable, scenario: Scenario, replication: int, seed: int
             ) -> dict[str, float]:
    """The body of a task, run in a worker: the run's scalar metrics (small to send back)."""
    values, _series, _tables = runner(scenario, replication, seed)
    return {name: float(value) for name, value in values.items()}


# --- running --------------------------------------------------------------------------------


@dataclass
class Failure:
    """A task that failed twice, with the sweep coordinates it stood for."""

    task: Task
    error: str
    runs: list[Run]


@dataclass
class SweepOutcome:
    """What a sweep did: counts, failures, and the summary it wrote."""

    total: int
    skipped: int
    computed: int
    failures: list[Failure] = field(default_factory=list)
    summary: pd.DataFrame | None = None
    summary_path: Path | None = None


def run_sweep(plan: Plan, out_dir: str | Path, workers: int | None = None,
              dask: str | None = None, progress: bool = True,
              runner: Callable | None = None) -> SweepOutcome:
    """Run every task of `plan` not already in `out_dir/tasks/`, then write the summary.

    The tasks run on `sim.parallel.make_executor(workers, dask)`: `workers=None` means every
    core, `workers=1` this process. A failed task is retried once (after the first pass), then
    reported in the outcome while the others go on. Interrupting (Ctrl-C) keeps every file
    already written.
    """
    out_dir = Path(out_dir)
    runner = runner or DEFAULT_RUNNER
    tasks_dir = out_dir / TASKS_DIR
    for stale in tasks_dir.glob(".*.tmp"):
        stale.unlink(missing_ok=True)   # left by a process killed mid-write
    todo = [t for t in plan.tasks.values() if not task_path(out_dir, t.key).exists()]
    done = len(plan.tasks) - len(todo)
    outcome = SweepOutcome(total=len(plan.tasks), skipped=done, computed=0)
    if todo:
        executor = make_executor(workers, dask, tasks=len(todo))
        try:
            tasks_dir.mkdir(parents=True, exist_ok=True)   # once the executor is up
            _say(progress, f"sweep {plan.spec_path.name}: {_count(len(plan.points), 'point')} x "
                           f"{_count(len(plan.variants), 'variant')} x "
                           f"{_count(plan.replications, 'replication')} = "
                           f"{_count(len(plan.tasks), 'distinct task')}; {done} already done, "
                           f"{len(todo)} to run on {executor.describe()}")
            with tqdm(total=len(plan.tasks), initial=done, unit="task", file=sys.stderr,
                      desc=plan.spec_path.stem, disable=not progress, dynamic_ncols=True) as bar:
                failed = _run_pass(plan, executor, runner, todo, out_dir, bar, outcome, "first")
                if failed:
                    for task, error in failed[:5]:
                        _report(bar, f"retrying {describe_task(plan, task)}: "
                                     f"{_error_text(error)}")
                    if len(failed) > 5:
                        _report(bar, f"retrying {len(failed) - 5} more failed tasks")
                    failed = _run_pass(plan, executor, runner, [t for t, _ in failed], out_dir,
                                       bar, outcome, "retry")
                order = {key: i for i, key in enumerate(plan.tasks)}
                failed.sort(key=lambda item: order[item[0].key])   # plan order, not finish order
                outcome.failures = [Failure(task, _error_text(error), plan.runs_of(task.key))
                                    for task, error in failed]
        finally:
            executor.close()
    else:
        _say(progress, f"sweep {plan.spec_path.name}: all {len(plan.tasks)} tasks already done")
    outcome.summary, known = build_summary(plan, out_dir)
    if known:
        check_metric_names(plan, known)
    outcome.summary_path = out_dir / SUMMARY_FILE
    write_csv(outcome.summary_path, outcome.summary)
    _write_failures(plan, out_dir, outcome.failures)
    return outcome


def _run_pass(plan: Plan, executor, runner: Callable, tasks: list[Task], out_dir: Path, bar,
              outcome: SweepOutcome, attempt: str) -> list[tuple[Task, BaseException]]:
    """Run `tasks`, write each result as it arrives; the tasks that raised.

    The executor handles Ctrl-C (stops the workers; the files written so far stay) and a worker
    that dies (restarts the pool and runs its tasks again once)."""
    failed: list[tuple[Task, BaseException]] = []

    def finished(index: int, values: dict[str, float] | None, error: BaseException | None
                 ) -> None:
        task = tasks[index]
        if error is not None:
            failed.append((task, error))
            bar.set_postfix(failed=len(failed), refresh=False)
            return
        write_task(task_path(out_dir, task.key), task, values)
        if outcome.computed == 0:
            for where, name in unknown_metrics(plan, values):
                _report(bar, f"warning: {plan.spec_path}: {where}: the first finished run "
                             f"reports no metric {name!r}")
        outcome.computed += 1
        bar.update()

    executor.run_each(_execute, [(runner, t.scenario, t.replication, t.seed) for t in tasks],
                      finished, keys=[f"{attempt}-{t.key}" for t in tasks])
    return failed


def describe_task(plan: Plan, task: Task) -> str:
    """Where a task stands in the sweep: its points, variants, replication and seed."""
    runs = plan.runs_of(task.key)
    places = "; ".join(f"point {plan.describe_point(r.point)} variant {r.variant}" for r in runs)
    return f"{places} replication {task.replication} (seed {task.seed})"


def _error_text(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _report(bar, message: str) -> None:
    bar.write(message, file=sys.stderr)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr)


def _write_failures(plan: Plan, out_dir: Path, failures: list[Failure]) -> None:
    path = out_dir / FAILURES_FILE
    if not failures:
        path.unlink(missing_ok=True)   # a stale list from an earlier run would mislead
        return
    rows = []
    for failure in failures:
        for run in failure.runs:
            rows.append({**parameter_cells(plan, run.point), "variant": run.variant,
                         "replication": run.replication, "seed": failure.task.seed,
                         "error": failure.error})
    write_csv(path, pd.DataFrame(rows))


def parameter_cells(plan: Plan, point: int) -> dict[str, Any]:
    """A point's value of every swept parameter; one it does not set shows the base value."""
    values = plan.points[point]
    return {path: _scalar(values[path] if path in values
                          else get_dotted(plan.base_document, path))
            for path in plan.parameters}


def build_summary(plan: Plan, out_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """Point parameters, variant, metric, mean, 95% CI and replications, from the task files;
    and the names of every metric the files hold.

    Runs whose file is missing (failed tasks) are left out; a point and variant with no
    finished replication has no row.
    """
    cache: dict[str, dict[str, float] | None] = {}

    def values_of(key: str):
        if key not in cache:
            path = task_path(out_dir, key)
            cache[key] = read_task(path) if path.exists() else None
        return cache[key]

    by_cell: dict[tuple[int, str], list[dict]] = {}
    for run in plan.runs:
        values = values_of(run.key)
        if values is not None:
            by_cell.setdefault((run.point, run.variant), []).append(
                {"variant": run.variant, "replication": run.replication, **values})
    known = list(dict.fromkeys(name for values in cache.values() if values for name in values))
    wanted = plan.spec.metrics
    frames = []
    for (point, _variant), rows in by_cell.items():
        summary = summarize_replications(pd.DataFrame(rows))
        if wanted:
            order = {name: i for i, name in enumerate(wanted)}
            summary = summary[summary["metric"].isin(order)]
            summary = summary.sort_values("metric", key=lambda m: m.map(order), kind="stable")
        for column, value in reversed(list(parameter_cells(plan, point).items())):
            summary.insert(0, column, [value] * len(summary))
        frames.append(summary)
    if not frames:
        empty = pd.DataFrame(columns=[*plan.parameters, "variant", "metric", "mean", "ci_low",
                                      "ci_high", "replications"])
        return empty, known
    return pd.concat(frames, ignore_index=True), known


def format_table(plan: Plan, summary: pd.DataFrame | None, limit: int = 40) -> str:
    """The headline metric per point and variant, mean [95% CI], for the terminal."""
    if summary is None or summary.empty:
        return "(no finished task)"
    present = set(summary["metric"])
    metric = (plan.spec.target.metric if plan.spec.target
              else (plan.spec.metrics or [registry.headline()])[0])
    if metric not in present:
        metric = summary["metric"].iloc[0]
    rows = summary[summary["metric"] == metric]
    header = [*plan.parameters, "variant", metric, "reps"]
    cells = [header]
    for _, row in rows.head(limit).iterrows():
        text = registry.format_value(metric, row["mean"])
        if math.isfinite(row["ci_low"]):
            text += f" [{registry.format_value(metric, row['ci_low'])}, " \
                    f"{registry.format_value(metric, row['ci_high'])}]"
        cells.append([*(str(row[p]) for p in plan.parameters), str(row["variant"]), text,
                      str(int(row["replications"]))])
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more rows in {SUMMARY_FILE}")
    return "\n".join(lines)
