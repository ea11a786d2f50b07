"""Loader fuzzing: random YAML documents and random mutations of every bundled scenario.

Every example must end in one of two ways: a scenario that loads (and then passes or fails the
work limits cleanly, round-trips through its variants and, when small, runs one short
replication), or a `ScenarioError` whose message has one line per problem, each naming the file
and the field path. Any other exception, or an example that runs past its time limit, is a
bug. The runs are derandomized with a bounded number of examples, so the suite is deterministic;
hypothesis prints the minimal failing document when one is found.

Most examples stay in-process for speed; a few go through the real command to check exit code 2
and that no traceback reaches the user.
"""

from __future__ import annotations

import contextlib
import copy
import math
import re
import signal
import subprocess
import sys
import tempfile
import types
import typing
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from sim.engine import limits
from sim.experiment import run_one
from sim.scenario import (
    BASELINE,
    Scenario,
    ScenarioError,
    load_document,
    load_scenario,
    rate_table,
    resolve_variants,
)

BUNDLED = sorted((REPO / "scenarios").glob("*.yaml"))

#: Time one example may take (load, limits, and a run when small). Loading takes milliseconds
#: and a small run well under a second, so only a hang or a runaway computation gets near it.
EXAMPLE_LIMIT_S = 30.0
#: Run a valid mutation's variants, one replication each, while their estimated customer
#: messages add up to at most this (the runs check that what the loader accepts the engine can
#: simulate, not performance).
RUN_BUDGET_MESSAGES = 8_000
RUN_MAX_AGENTS = 2_000
RUN_MAX_DAYS = 4.0
#: Bundled scenarios are scaled down by this factor before mutation, so valid mutants are
#: small enough to run.
VOLUME_DIVISOR = 100

FUZZ = settings(
    max_examples=60,
    derandomize=True,  # the same examples on every run and machine
    database=None,  # no .hypothesis folder; failures are reproduced from the printed example
    deadline=None,  # wall-time limits are enforced by `time_limit`, which also stops a hang
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=False,
    # No "explain" phase: it traces every line, which makes a slow example look like a hang.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)


# --- outcome checks -------------------------------------------------------------------------------


class Hang(Exception):
    """An example ran past `EXAMPLE_LIMIT_S`."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Interrupt the body with `Hang` after `seconds` (main thread, POSIX only)."""

    def expire(_signum, _frame):
        raise Hang(f"example took over {seconds:.0f} s: a hang or a runaway computation")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: Messages about the file as a whole rather than one field.
FILE_LEVEL = ("not valid YAML", "the file is empty", "expected a mapping of scenario fields",
              "cannot read", "file not found")
UNKNOWN_KEY = "unknown key (check the spelling; see docs/scenario-reference.md)"
_FIELD_ROOTS = {info.alias or name for name, info in Scenario.model_fields.items()}
#: Pydantic internals that must not reach a scenario author.
_INTERNALS = ("Traceback", "type=", "errors.pydantic.dev", "For further information",
              "function-after", "function-before", "<class ", "Error(")


def assert_clean_message(message: str, source: str | Path, field_level: bool = True) -> None:
    """One line per problem, each `file: field.path: problem`, free of Python internals."""
    source = str(source)
    lines = message.splitlines()
    assert lines, "empty error message"
    assert len(lines) == len(set(lines)), f"repeated lines in {message!r}"
    for line in lines:
        assert line.startswith(f"{source}: "), f"line does not name the file: {line!r}"
        rest = line[len(source) + 2:]
        for internal in _INTERNALS:
            assert internal not in line, f"{internal!r} leaks into {line!r}"
        assert len(line) < 1000 + len(source), f"line too long: {line[:300]!r}..."
        if not field_level and rest.startswith(FILE_LEVEL):
            continue
        assert ": " in rest and rest.partition(": ")[2].strip(), f"no problem stated: {line!r}"
        if rest.endswith((UNKNOWN_KEY, "Keys should be strings")):
            continue  # names the author's own key, whatever its spelling
        path = rest.removeprefix("refused before simulating: ")
        path = re.sub(r"^variants\.[^ ]+ -> ", "", path)
        root = re.split(r"[.: ]", path, maxsplit=1)[0]
        assert root in _FIELD_ROOTS or path.startswith("(top level): "), (
            f"no field path in {line!r}")


def check_file(path: Path, field_level: bool = True, limit_s: float = EXAMPLE_LIMIT_S) -> str:
    """Load `path` and follow a valid scenario as far as is cheap; returns how it ended."""
    source = str(path)
    with time_limit(limit_s):
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            assert_clean_message(str(exc), source, field_level)
            return "refused"
        variants = resolve_variants(scenario, source=source, base_dir=path.parent)
        # The variants are rebuilt from the dumped scenario: the round trip must change nothing.
        assert variants[BASELINE] == scenario
        ran, budget = False, RUN_BUDGET_MESSAGES
        for name, variant in variants.items():
            try:
                work = limits.check(variant, runs=scenario.replications * len(variants),
                                    source=source)
            except ScenarioError as exc:
                assert_clean_message(str(exc), source)
                return "too large"
            assert all(math.isfinite(x) and x >= 0 for x in
                       (work.conversations, work.messages, work.horizon_days)), work
            if (work.messages <= budget and work.agents <= RUN_MAX_AGENTS
                    and work.horizon_days <= RUN_MAX_DAYS):
                budget -= work.messages
                values, _series, _tables = run_one(variant, 0, scenario.seed)
                infinite = {k: v for k, v in values.items()
                            if isinstance(v, float) and math.isinf(v)}
                assert values["arrived"] >= 0 and not infinite, (name, infinite or values)
                ran = True
        return "ran" if ran else "valid"


# --- documents and where to break them ------------------------------------------------------------


def bundled_document(path: Path) -> dict:
    """A bundled scenario's raw document with its arrival volume divided by VOLUME_DIVISOR."""
    document, _ = load_document(path)
    document = copy.deepcopy(document)
    arrivals = document["arrivals"]
    if "daily_volume" in arrivals:
        arrivals["daily_volume"] /= VOLUME_DIVISOR
    if "volume_per_day" in arrivals:
        arrivals["volume_per_day"] = {day: volume / VOLUME_DIVISOR
                                      for day, volume in arrivals["volume_per_day"].items()}
    if "rates_per_hour" in arrivals:
        arrivals["rates_per_hour"] = [rate / VOLUME_DIVISOR for rate in arrivals["rates_per_hour"]]
    return document


DOCUMENTS = {path.name: bundled_document(path) for path in BUNDLED}


def sites(node, path=()):
    """Every (path, node) of a document, the root first."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from sites(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from sites(value, (*path, index))


def get(document, path):
    for part in path:
        document = document[part]
    return document


def _schema(annotation):
    """What a field annotation holds: ('model', [classes]), ('dict', inner), ('list', inner) or
    ('leaf',)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _schema(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        models = [a for a in options if isinstance(a, type) and issubclass(a, BaseModel)]
        if models and len(models) == len(options):
            return ("model", models)
        return _schema(options[0])
    if origin is dict:
        return ("dict", _schema(typing.get_args(annotation)[1]))
    if origin is list:
        return ("list", _schema(typing.get_args(annotation)[0]))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("model", [annotation])
    return ("leaf",)


def _fields(models) -> dict[str, typing.Any]:
    fields = {}
    for model in models:
        for name, info in model.model_fields.items():
            fields[info.alias or name] = info.annotation
    return fields


def schema_at(path) -> tuple:
    """The schema node of a document path; variant overrides resolve from the top."""
    if len(path) >= 3 and path[0] == "variants" and isinstance(path[2], str):
        return schema_at(tuple(path[2].split(".")) + tuple(path[3:]))
    node = ("model", [Scenario])
    for part in path:
        if node[0] == "model":
            annotation = _fields(node[1]).get(part)
            if annotation is None:
                return ("leaf",)
            node = _schema(annotation)
        elif node[0] in ("dict", "list"):
            node = node[1]
        else:
            return ("leaf",)
    return node


# --- values a busy author (or a hostile one) might write ------------------------------------------

BROKEN_DURATIONS = ["5 mins", "1h30", "30", "5min5", "--5s", "1e3s", "s", "min", "", " ", "1,5min",
                    "1:30", "5 minutes", "1 minute", "0.5.5s", "5m30", "-0s", "1w", "nan", "inf",
                    "1e400", "99999999999999999999d", "5µs", "５min", "5min ", "1h-30min"]
BROKEN_CLOCKS = ["25:00", "24:01", "8:60", "08:00:60", "-01:00", "08.00", "8", "0800", "8am",
                 "2026-13-01 08:00", "2026-02-30 08:00", "2026-11-11T25:00", "2026-11-11",
                 "2026-11-11 00:00:00", "11/11/2026 00:00", "08:00:30", "00:00:01", "23:59:59",
                 "99:99", "1:2", "", "noon", "2026-11-11  00:00", "0000-01-01 00:00",
                 "9999-12-31 24:00"]
TYPOS_OF_KEYS = st.sampled_from(sorted({
    key for document in DOCUMENTS.values() for path, _ in sites(document) for key in path[-1:]
    if isinstance(key, str)}))


def typo(key: str) -> st.SearchStrategy[str]:
    """A misspelling of `key`: a letter dropped, doubled or a suffix added."""
    return st.one_of(
        st.integers(0, max(len(key) - 1, 0)).map(lambda i: key[:i] + key[i + 1:]),
        st.integers(0, max(len(key) - 1, 0)).map(lambda i: key[:i] + key[i] * 2 + key[i + 1:]
                                                  if key else "x"),
        st.sampled_from(["s", "_s", "_time", "es", " "]).map(lambda suffix: key + suffix),
        st.just(key.upper() or "X"),
    )


scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(-(10**6), 10**6), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["30s", "5min", "1h", "08:00", "24:00", "2026-11-11 00:00", "exponential",
                     "geometric", "pooled", "yes", "no", "null", "~", "0x1F", "1e9"]),
)
wrong_type = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=6), scalars, max_size=2),
    st.just({"dist": "exponential", "mean": "30s"}),
)
negative = st.sampled_from([-1, -0.001, -1e308, -(10**20), "-5min", "-1s", "-0.5h", -0.0])
huge = st.sampled_from([1e308, 10**18, 10**30, 10**4000, float("inf"), "1e9h", "99999d",
                        1e9, 10**9, 2**63, 2**64 + 1])
tiny = st.sampled_from([0, 0.0, 1e-9, 5e-324, "1ms", "0s", 0.001, "0.001s"])
broken_duration = st.one_of(
    st.sampled_from(BROKEN_DURATIONS),
    st.from_regex(r"\A-?[0-9]{0,4}(\.[0-9]{0,2})? ?(ms|s|sec|secs|m|min|mins|h|hr|d|w|)"
                  r"( ?[0-9]{0,3}(s|min|h))?\Z"),
)
broken_clock = st.one_of(
    st.sampled_from(BROKEN_CLOCKS),
    st.from_regex(r"\A([0-9]{4}-[0-9]{2}-[0-9]{2}[ T])?[0-9]{1,3}[:.][0-9]{1,3}(:[0-9]{1,2})?\Z"),
)
any_value = st.one_of(wrong_type, negative, huge, tiny, broken_duration, broken_clock)


@st.composite
def mutation(draw, document: dict) -> str:
    """Apply one random change to `document` in place; returns a description."""
    all_sites = list(sites(document))
    inner = [(p, n) for p, n in all_sites if p]
    mappings = [(p, n) for p, n in all_sites if isinstance(n, dict)]
    kind = draw(st.sampled_from(["wrong_type", "negative", "huge", "tiny", "delete",
                                 "unknown_key", "known_key", "rename_key", "duration", "clock"]))
    if kind in ("unknown_key", "known_key", "rename_key"):
        path, node = draw(st.sampled_from(mappings))
        if kind == "unknown_key":
            key = draw(st.one_of(TYPOS_OF_KEYS.flatmap(typo), st.text(min_size=1, max_size=12)))
            if key in node:
                return "none"
            node[key] = draw(any_value)
            return f"unknown key {key!r} at {path}"
        if kind == "known_key":
            schema = schema_at(path)
            absent = sorted(set(_fields(schema[1])) - set(node)) if schema[0] == "model" else []
            if not absent:
                return "none"
            key = draw(st.sampled_from(absent))
            node[key] = draw(any_value)
            return f"known key {key!r} added at {path}"
        if not node:
            return "none"
        old = draw(st.sampled_from(sorted(node, key=str)))
        new = draw(st.one_of(typo(str(old)), broken_clock))
        if new in node:
            return "none"
        items = [(new if k == old else k, v) for k, v in node.items()]
        node.clear()
        node.update(items)
        return f"key {old!r} renamed {new!r} at {path}"
    path, node = draw(st.sampled_from(inner))
    parent = get(document, path[:-1])
    if kind == "delete":
        del parent[path[-1]]
        return f"deleted {path}"
    value = draw({"wrong_type": wrong_type, "negative": negative, "huge": huge, "tiny": tiny,
                  "duration": broken_duration, "clock": broken_clock}[kind])
    parent[path[-1]] = value
    return f"{kind} {value!r} at {path}"


#: Where examples are written (removed when the interpreter exits); each gets its own folder.
SCRATCH = tempfile.TemporaryDirectory(prefix="supportsim-fuzz-")


def write_yaml(document, name: str = "scenario.yaml") -> Path:
    path = Path(tempfile.mkdtemp(dir=SCRATCH.name)) / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


# --- mutations of the bundled scenarios -----------------------------------------------------------


def test_bundled_scenarios_load_and_run_when_scaled_down():
    # The control: unmutated (scaled) documents are valid, small, and run.
    assert {p.name for p in BUNDLED} >= {"normal_day.yaml", "double11.yaml"}
    for name, document in DOCUMENTS.items():
        assert check_file(write_yaml(document, name)) == "ran", name


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(DOCUMENTS)))
def test_mutated_bundled_scenarios_load_or_fail_cleanly(data, name):
    document = copy.deepcopy(DOCUMENTS[name])
    changes = [data.draw(mutation(document), label="change")
               for _ in range(data.draw(st.integers(1, 3), label="changes"))]
    note(changes)
    check_file(write_yaml(document, name))


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(DOCUMENTS)))
def test_mutated_durations_and_clocks_load_or_fail_cleanly(data, name):
    # Aim at the leaves holding durations and clock times (and the clock keys of headcount
    # tables), where hand-written files go wrong most.
    document = copy.deepcopy(DOCUMENTS[name])
    duration = re.compile(r"^-?[0-9.]+ ?(ms|s|min|h|d)$")
    targets = [(p, v) for p, v in sites(document) if p and isinstance(v, str)
               and (duration.match(v) or re.match(r"^[0-9-]* ?[0-9]{1,2}:[0-9]{2}", v))]
    keyed = [(p, n) for p, n in sites(document)
             if isinstance(n, dict) and any(re.match(r"^[0-9-]* ?[0-9]{1,2}:[0-9]{2}", str(k))
                                             for k in n)]
    assert targets
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        if keyed and data.draw(st.booleans(), label="rename a clock key"):
            path, node = data.draw(st.sampled_from(keyed), label="table")
            old = data.draw(st.sampled_from(sorted(node)), label="key")
            new = data.draw(broken_clock, label="new key")
            if new not in node:
                items = [(new if k == old else k, v) for k, v in node.items()]
                node.clear()
                node.update(items)
            continue
        path, _ = data.draw(st.sampled_from(targets), label="leaf")
        get(document, path[:-1])[path[-1]] = data.draw(
            st.one_of(broken_duration, broken_clock, negative, huge, tiny), label="value")
    check_file(write_yaml(document, name))


# --- random documents -----------------------------------------------------------------------------

FIELD_NAMES = sorted({key for document in DOCUMENTS.values() for path, _ in sites(document)
                      for key in path[-1:] if isinstance(key, str)}
                     | set(_fields([Scenario])))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=8)), children,
                        max_size=5),
    ),
    max_leaves=30,
)


@FUZZ
@given(document=st.one_of(
    documents,
    st.fixed_dictionaries({}, optional={key: documents for key in _fields([Scenario])}),
))
def test_random_documents_load_or_fail_cleanly(document):
    path = write_yaml(document)
    check_file(path, field_level=False)


YAML_PIECES = st.sampled_from([
    ":", ": ", "- ", "  ", "\n", "\t", "{", "}", "[", "]", ",", "'", '"', "#", "&a ", "*a", "&b ",
    "*b", "!!str ", "!!int ", "!!float ", "!!bool ", "!!null ", "!!map ", "!!seq ", "!!binary ",
    "!!set ", "!!omap ", "!!timestamp ", "? ",
    "<<: ", "| ", "> ", "---\n", "...\n", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "!local ",
    "!!python/object/apply:os.system ", "\\", "\x00", "\ufeff", "é", "08:00", "30s", "1e309",
    ".nan", ".inf", "-.inf", "0o17", "0x1F", "1_000", "yes", "~", "null", "name", "groups",
])


@st.composite
def text_edits(draw, text: str) -> str:
    """A bundled file's text with a few random edits: spans deleted, pieces inserted, lines
    duplicated or re-indented."""
    for _ in range(draw(st.integers(1, 4), label="edits")):
        kind = draw(st.sampled_from(["delete", "insert", "duplicate_line", "indent"]))
        at = draw(st.integers(0, len(text)), label="at")
        if kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif kind == "insert":
            piece = draw(st.one_of(YAML_PIECES, st.text(max_size=6)))
            text = text[:at] + piece + text[at:]
        else:
            lines = text.split("\n")
            index = min(at * len(lines) // max(len(text), 1), len(lines) - 1)
            if kind == "duplicate_line":
                lines.insert(index, lines[index])
            else:
                lines[index] = " " * draw(st.integers(1, 5)) + lines[index]
            text = "\n".join(lines)
    return text


@FUZZ
@given(data=st.data(), path=st.sampled_from(BUNDLED))
def test_edited_bundled_files_load_or_fail_cleanly(data, path):
    text = data.draw(text_edits(path.read_text(encoding="utf-8")), label="text")
    target = Path(tempfile.mkdtemp(dir=SCRATCH.name)) / path.name
    target.write_bytes(text.encode("utf-8", "surrogatepass"))
    check_file(target, field_level=False)


@FUZZ
@given(text=st.lists(st.one_of(YAML_PIECES, st.text(max_size=5)), max_size=30).map("".join))
def test_random_yaml_text_loads_or_fails_cleanly(text):
    target = Path(tempfile.mkdtemp(dir=SCRATCH.name)) / "scenario.yaml"
    target.write_bytes(text.encode("utf-8", "surrogatepass"))
    check_file(target, field_level=False)


# --- what the fuzzers found ------------------------------------------------------------------------


def _set(name: str, dotted: str | tuple, value) -> dict:
    """A scaled bundled document with one value set (`a.b.c` or a tuple of keys)."""
    document = copy.deepcopy(DOCUMENTS[name])
    parts = dotted if isinstance(dotted, tuple) else dotted.split(".")
    *parents, last = [int(p) if p.isdigit() else p for p in parts]
    node = document
    for part in parents:
        node = node[part]
    node[last] = value
    return document


def _without(name: str, *path) -> dict:
    """A scaled bundled document with one key deleted."""
    document = copy.deepcopy(DOCUMENTS[name])
    node = document
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return document


#: Minimal examples the fuzzers (or a probe in their spirit) found, kept so that each stays
#: fixed; the comment says what went wrong before the fix.
FOUND = {
    # A key holding a line break split one problem over two lines of the message.
    "line_break_in_a_key": ({"\r": None, "name": "x"}, False),
    "line_break_in_a_topic_name": (_set("normal_day.yaml", "topics", {"a\nb": None}), True),
    # A 4000-digit integer: OverflowError in parse_duration; a message thousands of
    # characters long quoting it back.
    "huge_integer_duration": (_set("normal_day.yaml", "horizon.drain", 10**4000), True),
    "huge_integer_clock": (_set("normal_day.yaml", "horizon.start", 10**4000), True),
    # An infinite topic share (or cost) loaded; the work estimate became NaN and passed the
    # limits, and the summary reported an infinite cost.
    "infinite_mix_share": (_set("normal_day.yaml", "arrivals.mix.presale", float("inf")), True),
    "infinite_hourly_cost": (_set("normal_day.yaml", "groups.presale_team.hourly_cost",
                                  float("inf")), True),
    # A finite but absurd cost overflowed the day's total to infinity.
    "huge_hourly_cost": (_set("normal_day.yaml", "groups.presale_team.hourly_cost", 1e308), True),
    # A clock time with seconds lost them when the variants were rebuilt from the dumped
    # scenario, so the baseline of a run differed from the file (or failed to validate).
    "clock_with_seconds": (_set("normal_day.yaml", "horizon.end", "23:59:30"), True),
    # A standby trigger checked every millisecond: 10^8 events, a run of hours.
    "standby_checked_every_millisecond": (
        _set("double11.yaml", ("variants", "standby", "groups.agency", "standby", "check_every"),
             "1ms"), True),
    # A date missing from volume_per_day: the message ran the field path into the problem
    # ("arrivals.volume_per_day has no entry for ...") instead of "path: problem".
    "missing_volume_day": (_without("double11.yaml", "arrivals", "volume_per_day",
                                    "2026-11-10"), True),
    # Ten thousand percentiles: several seconds of metric computation per replication.
    "ten_thousand_percentiles": (
        _set("normal_day.yaml", "metrics.percentiles",
             [round(0.01 * i, 2) for i in range(1, 10_000)]), True),
}


@pytest.mark.parametrize("case", sorted(FOUND))
def test_cases_the_fuzzers_found_load_or_fail_cleanly(case):
    document, field_level = FOUND[case]
    # A valid run of these takes a second; ten is plenty before calling it a hang.
    check_file(write_yaml(document), field_level=field_level, limit_s=10)


@pytest.mark.parametrize("field, weights, expected", [
    ("arrivals.mix", {"presale": 1e308, "order": 1e308, "aftersale": 1, "complaint": 1},
     "shares"),
    ("arrivals.profile", [1e308] * 24, "volume"),
])
def test_huge_relative_weights_are_refused_or_kept_in_proportion(field, weights, expected):
    # Weights are normalised by their sum; a sum that overflows made every share 0, so every
    # buyer silently got the last topic (or no buyer arrived at all) while the run "worked".
    document = _set("normal_day.yaml", field, weights)
    path = write_yaml(document)
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        assert_clean_message(str(exc), path)
        assert field in str(exc)
        return
    table = rate_table(scenario)
    if expected == "shares":
        arrivals = table.mix * table.rate_per_s[:, None]
        shares = arrivals.sum(axis=0) / arrivals.sum()
        assert shares[:2] == pytest.approx([0.5, 0.5], abs=1e-9), dict(zip(table.topics, shares))
    else:
        # Equal hourly weights spread the day's volume evenly.
        assert table.expected_arrivals == pytest.approx(DOCUMENTS["normal_day.yaml"]["arrivals"]
                                                        ["daily_volume"])


# --- the real command -----------------------------------------------------------------------------


def _broken(name: str, change) -> dict:
    document = copy.deepcopy(DOCUMENTS[name])
    change(document)
    return document


CLI_CASES = {
    # A wrong type inside a variant's override, a broken clock key, and an unknown key in a
    # shift's break (broken durations go through the command in test_cli.py).
    "variant_wrong_type.yaml": _broken(
        "double11.yaml", lambda d: d["variants"]["standby"]["groups.agency"]["standby"].update(
            cap="twenty")),
    "clock_key.yaml": _broken(
        "double11.yaml", lambda d: d["groups"]["presale_team"]["schedule"]["headcount"].update(
            {"2026-11-11 25:00": 3})),
    "unknown_break_key.yaml": _broken(
        "normal_day.yaml", lambda d: d["groups"]["presale_team"]["schedule"]["shifts"][0]
        ["breaks"][0].update(lenght="1h")),
}
CLI_FRAGMENTS = {
    "variant_wrong_type.yaml": ["variants.standby", "cap"],
    "clock_key.yaml": ["groups.presale_team.schedule", "25:00"],
    "unknown_break_key.yaml": ["groups.presale_team.schedule.shifts.0.breaks.0.lenght",
                               "unknown key"],
}


def test_broken_files_through_the_command_exit_2_without_traceback(tmp_path):
    paths = {}
    for name, document in CLI_CASES.items():
        paths[name] = tmp_path / name
        paths[name].write_text(yaml.safe_dump(document, sort_keys=False))
    # Started together: each interpreter spends most of its time importing.
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", "from sim.cli import console; console()", "run", str(path),
             "--out", str(tmp_path / f"out-{name}"), "--quiet", "--no-report"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, path in paths.items()
    }
    for name, proc in procs.items():
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, (name, err)
        assert "Traceback" not in err, err
        lines = err.strip().splitlines()
        assert lines[0].startswith(f"error: {paths[name]}: "), err
        assert_clean_message(err.strip().removeprefix("error: "), paths[name])
        for fragment in CLI_FRAGMENTS[name]:
            assert fragment in err, f"{fragment!r} missing from {err!r}"
        assert not (tmp_path / f"out-{name}").exists()
