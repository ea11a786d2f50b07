"""Tests for sim.output.report and for what `supportsim run` writes: one self-contained HTML file with
every plot embedded, the metric and comparison tables, and the resolved scenario."""

import base64
import contextlib
import io
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
import yaml

from sim.cli import main as main_entry
from sim.experiment import run
from sim.output import plots
from sim.output.report import render_html
from sim.scenario import scenario_from_dict


def desk(variants: dict | None = None) -> dict:
    return {
        "name": "report_desk",
        "description": "A small desk <for> the report test & nothing else.",
        "horizon": {"start": "10:00", "end": "12:00", "drain": "30min"},
        "seed": 3,
        "replications": 3,
        "arrivals": {"interval": "1h", "rates_per_hour": [100, 140], "mix": {"presale": 1.0}},
        "topics": {"presale": {
            "messages": {"dist": "geometric", "mean": 3},
            "think_time": {"dist": "exponential", "mean": "40s"},
            "patience": {"dist": "exponential", "mean": "5min"},
            "presale": True,
        }},
        "groups": {"front_desk": {
            "skills": ["presale"], "concurrency": 2,
            "reply_time": {"dist": "lognormal", "mean": "30s", "cv": 0.7},
            "hourly_cost": 30, "schedule": {"headcount": {"10:00": 3}},
        }},
        "variants": variants if variants is not None else {
            "more_agents": {"groups.front_desk.schedule.headcount": {"10:00": 5}},
            "wider_chats": {"groups.front_desk.concurrency": 3},
        },
    }


class _Page(HTMLParser):
    """Collects what a report must (and must not) contain."""

    def __init__(self):
        super().__init__()
        self.images, self.links, self.tags, self.tables = [], [], [], []
        self._table, self._row, self._cell = None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        for key in ("src", "href"):
            if key in attrs and tag != "img":
                self.links.append(attrs[key])
        if tag == "table":
            self._table = {"class": attrs.get("class"), "rows": []}
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            self._table["rows"].append(self._row)
            self._row = None
        elif tag == "table" and self._table is not None:
            self.tables.append(self._table)
            self._table = None


def parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """`supportsim run` on a small desk with two variants: what it printed and wrote."""
    folder = tmp_path_factory.mktemp("report")
    path = folder / "desk.yaml"
    path.write_text(yaml.safe_dump(desk(), allow_unicode=True), encoding="utf-8")
    out = folder / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main_entry(["run", str(path), "--replications", "3", "--out", str(out),
                           "--quiet"])
    assert code == 0
    return out, stdout.getvalue(), (out / "report.html").read_text(encoding="utf-8")


def test_report_embeds_every_plot_as_png(report):
    out, _, text = report
    page = parse(text)
    assert len(page.images) == len(plots.PLOTS)
    pngs = sorted((out / "plots").glob("*.png"))
    assert [p.stem for p in pngs] == sorted(plots.PLOTS)
    embedded = set()
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        embedded.add(data)
    assert embedded == {p.read_bytes() for p in pngs}  # the same images as plots/*.png


def test_report_has_no_remote_resources(report):
    _, _, text = report
    page = parse(text)
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert all(link.startswith("#") for link in page.links)
    assert not re.search(r"url\(|@import|https?://", text)


def test_report_has_the_metric_table_with_cis(report):
    out, _, text = report
    table = next(t for t in parse(text).tables if t["class"] == "metrics")
    header, *rows = table["rows"]
    assert header[2:] == ["baseline", "more_agents", "wider_chats"]
    by_metric = {row[0]: row for row in rows}
    assert "reply_rate_5min" in by_metric and "cost" in by_metric
    # The baseline cell starts with the mean over replications, as a percentage.
    per_replication = pd.read_csv(out / "replications.csv")
    mean = per_replication.query("variant == 'baseline'")["reply_rate_5min"].mean()
    cell = by_metric["reply_rate_5min"][2]
    assert cell.startswith(f"{100 * mean:.2f}%")
    assert re.fullmatch(r"[\d.]+% \[[\d.]+%, [\d.]+%\]", cell)


def test_report_has_the_comparison_and_the_scenario(report):
    _, _, text = report
    page = parse(text)
    table = next(t for t in page.tables if t["class"] == "comparison")
    header, *rows = table["rows"]
    assert header[-1] == "verdict"
    assert {row[0] for row in rows} == {"more_agents", "wider_chats"}
    assert all(row[-1] in ("better", "worse", "no significant difference", "higher", "lower")
               for row in rows)
    assert "Bonferroni-corrected for 2 comparisons" in text
    # The resolved scenario, defaults filled in, and the description escaped.
    assert "front_desk:" in text and "overflow_after:" in text
    assert "A small desk &lt;for&gt; the report test &amp; nothing else." in text


def test_report_without_variants_has_no_comparison():
    single = run(scenario_from_dict(desk(variants={})), replications=2)
    text = render_html(single, None, {"key_metrics_chart": b"\x89PNG fake"})
    page = parse(text)
    # The headline (targets and cost; worst intervals), then key + all metrics.
    assert [t["class"] for t in page.tables] == ["headline", "worst", "metrics", "metrics"]
    assert "Comparison with the baseline" not in text
    assert len(page.images) == 1


def test_supportsim_run_writes_and_prints_the_comparison(report):
    out, printed, _ = report
    assert "difference [CI]" in printed and "verdict" in printed
    assert "wrote summary.csv, intervals.csv, replications.csv, comparison.csv, plots/*.png, " \
        "report.html" in printed
    comparison = pd.read_csv(out / "comparison.csv")
    assert set(comparison["variant"]) == {"more_agents", "wider_chats"}
    # The CSV holds every metric of replications.csv, for each variant.
    metrics = set(pd.read_csv(out / "replications.csv").columns) - {"variant", "replication"}
    assert set(comparison["metric"]) == metrics
    assert len(comparison) == 2 * len(metrics)



def test_the_report_opens_with_the_headline_and_names_windows_and_currency(tmp_path):
    document = desk()
    document["targets"] = ["reply_rate_5min>=0", "cost<=1"]   # always met, never met
    document["metrics"] = {"currency": "USD"}
    results = run(scenario_from_dict(document), replications=2)
    text = render_html(results, None, {"key_metrics_chart": b"\x89PNG fake"})
    page = parse(text)
    assert text.index('id="headline"') < text.index('id="metrics"')
    headline = next(t for t in page.tables if t["class"] == "headline")
    header, *rows = headline["rows"]
    assert header == ["variant", "reply_rate_5min >= 0.00%", "cost <= 1.00", "every target",
                      "cost (USD)"]
    assert [row[0] for row in rows] == ["baseline", "more_agents", "wider_chats"]
    assert all(row[1].startswith("met ") and row[2].startswith("missed ") and
               row[3] == "missed" for row in rows)
    assert "No variant meets every target." in text
    metrics = next(t for t in page.tables if t["class"] == "metrics")
    meaning = {row[0]: row[1] for row in metrics["rows"][1:]}
    assert meaning["reply_rate_5min"] == "5-min reply rate of buyers, 08:00-23:00"
    assert meaning["reply_rate_5min_allday"] == "5-min reply rate of buyers, all day"
    assert meaning["cost"] == "cost (USD)"
