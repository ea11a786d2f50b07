"""The HTML report in a real browser: headless Chromium renders `report.html`, and the page is
not blank, loads nothing from the network and shows the headline.

Chromium comes from the system's packages (`.ci/run` installs Debian's `chromium` when it is
missing). Without it the test is skipped, except in CI (CI=true), where it must run. Each
report kind the command line writes is listed in `REPORTS`; a new report (the roster's, the
what-if's) adds its builder there.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from matplotlib import image

from sim.cli import main as main_entry

#: Headless, and as quiet on the network as Chromium gets. It still asks for updates and the
#: time on its own, so the dead proxy keeps any request from leaving the machine, and the
#: network log is read for the page's own requests only (`page_requests`).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
         "--mute-audio", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
#: URL schemes a self-contained page may load.
LOCAL_SCHEMES = ("file:", "data:", "about:", "chrome:", "chrome-extension:", "blob:")


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    found = chromium()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but chromium is not installed: .ci/run should have "
                        "installed it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs this test")
    return found


def run_browser(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180, check=False)


def shop(folder: Path) -> Path:
    """A small desk with two variants and two targets, written as a scenario file."""
    topic = {"messages": {"dist": "geometric", "mean": 3},
             "think_time": {"dist": "exponential", "mean": "40s"},
             "patience": {"dist": "exponential", "mean": "5min"}, "presale": True}
    document = {
        "name": "browser_desk",
        "horizon": {"start": "09:00", "end": "12:00", "drain": "30min"},
        "seed": 9,
        "arrivals": {"interval": "1h", "rates_per_hour": [80, 140, 120],
                     "mix": {"presale": 1.0}},
        "topics": {"presale": topic},
        "groups": {"team": {"skills": ["presale"], "concurrency": 3,
                            "reply_time": {"dist": "lognormal", "mean": "25s", "cv": 0.7},
                            "hourly_cost": 30, "schedule": {"headcount": {"09:00": 3}}}},
        "targets": ["reply_rate_5min>=0.95", "first_response_mean_s<=40"],
        "variants": {"plus_two": {"groups.team.schedule.headcount": {"09:00": 5}}},
    }
    path = folder / "shop.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def run_report(folder: Path) -> tuple[Path, str]:
    """`supportsim run` on the small desk: its report and what it printed."""
    out = folder / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main_entry(["run", str(shop(folder)), "--replications", "3", "--out", str(out),
                           "--quiet", "--workers", "1"])
    assert code == 0
    return out / "report.html", printed.getvalue()


def page_text(html_section: str) -> str:
    """The words of a piece of markup, with entities for &, < and > read back."""
    text = re.sub(r"<[^>]+>", " ", html_section)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def run_shows_its_headline_first(dom: str, printed: str) -> None:
    assert 'id="headline"' in dom
    headline = dom.index('id="headline"')
    assert headline < dom.index('id="metrics"') < dom.index('id="plots"')
    text = page_text(dom[headline:dom.index('id="metrics"')])
    assert "reply_rate_5min >= 95.00%" in text and "first_response_mean_s <= 40.0s" in text
    assert re.search(r"\b(met|missed|undecided)\b", text)
    # The sentence that says which variant to pick is the one the terminal printed.
    line = next(line for line in printed.splitlines()
                if line.startswith(("Cheapest variant", "No variant")))
    assert " ".join(line.split()) in text
    assert "worst interval in counted hours" in text


#: The roster's desk: one team, a morning whose load rises and falls (8 half-hours).
ROSTER_DESK = {
    "name": "roster_desk",
    "horizon": {"start": "08:00", "end": "12:00", "drain": "1h"},
    "seed": 7,
    "arrivals": {"interval": "30min", "mix": {"presale": 1},
                 "rates_per_hour": [160, 320, 640, 960, 800, 480, 320, 240]},
    "topics": {"presale": {"messages": {"dist": "geometric", "mean": 2},
                           "think_time": {"dist": "exponential", "mean": "30s"},
                           "patience": {"dist": "exponential", "mean": "3min"}}},
    "groups": {"team": {"skills": ["presale"], "concurrency": 3, "hourly_cost": 30,
                        "reply_time": {"dist": "exponential", "mean": "8s"},
                        "schedule": {"headcount": {"08:00": 3}}}},
}
ROSTER_RULES = {"groups": {"team": {"shifts": [{
    "name": "short", "lengths": {"from": "1h", "to": "4h", "every": "30min"},
    "starts": {"from": "08:00", "to": "11:30", "every": "30min"},
    "breaks": [{"length": "30min", "earliest": "1h", "latest": "2h", "min_shift": "3h"}]}]}}}
ROSTER_TARGET = "first_response_30s_rate>=0.8"


def roster_report(folder: Path) -> tuple[Path, str]:
    """`supportsim roster` with a scenario and a target: the roster checked by simulation."""
    desk, rules, out = folder / "desk.yaml", folder / "rules.yaml", folder / "out"
    desk.write_text(yaml.safe_dump(ROSTER_DESK), encoding="utf-8")
    rules.write_text(yaml.safe_dump(ROSTER_RULES), encoding="utf-8")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main_entry(["roster", str(desk), "--target", ROSTER_TARGET, "--rules",
                           str(rules), "--out", str(out), "--replications", "3", "--quiet",
                           "--workers", "1"])
    assert code == 0, printed.getvalue()
    return out / "roster.html", printed.getvalue()


def roster_shows_its_verdict_first(dom: str, printed: str) -> None:
    # The verdict on the target opens the page, before the rounds and the shifts, and it is
    # the one the terminal printed on its first line.
    first = printed.splitlines()[0]
    assert first.startswith(f"target {ROSTER_TARGET} ")
    verdict = "NOT met" if " NOT met" in first else "met"
    shifts = dom.index('id="shifts"')
    assert dom.index('id="rounds"') < shifts < dom.index('id="plots"')
    text = page_text(dom[dom.index("<h1"):dom.index('id="rounds"')])
    assert f"Target {ROSTER_TARGET} {verdict} in every counted interval" in text
    # Every shift kind the roster uses is named in its table.
    assert "short" in page_text(dom[shifts:dom.index('id="plots"')])


#: Report kinds: name -> (builder returning (report.html, what the command printed), the
#: check that the page opens with the answer to its question).
REPORTS = {"run": (run_report, run_shows_its_headline_first),
           "roster": (roster_report, roster_shows_its_verdict_first)}


@pytest.fixture(scope="module", params=sorted(REPORTS))
def rendered(request, browser, tmp_path_factory):
    """A report, its screenshot, its DOM after load and Chromium's network log."""
    folder = tmp_path_factory.mktemp(f"browser_{request.param}")
    build, shows = REPORTS[request.param]
    report, printed = build(folder)
    url = report.resolve().as_uri()
    shot, netlog = folder / "shot.png", folder / "netlog.json"
    done = run_browser(browser, folder / "profile-shot", "--window-size=1200,1600",
                       f"--screenshot={shot}", f"--log-net-log={netlog}", url)
    assert shot.exists(), f"no screenshot: {done.stderr[-2000:]}"
    dom = run_browser(browser, folder / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0 and "<html" in dom.stdout, dom.stderr[-2000:]
    return {"report": report, "printed": printed, "shot": shot, "netlog": netlog,
            "dom": dom.stdout, "html": report.read_text(encoding="utf-8"), "shows": shows}


def page_requests(netlog: Path) -> list[str]:
    """URLs a page opened from a file asked the network stack for, from Chromium's network
    log: requests started on behalf of a file:// top frame (the browser's own requests carry
    no such isolation key). Files themselves never reach the network stack."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return sorted({event["params"]["url"] for event in log.get("events", [])
                   if event.get("type") == start
                   and "file://" in str(event["params"].get("network_isolation_key", ""))})


def test_the_network_check_sees_a_page_that_loads_a_remote_image(browser, tmp_path):
    page = tmp_path / "remote.html"
    page.write_text('<html><body><h1>x</h1><img src="http://example.invalid/pixel.png">'
                    "</body></html>", encoding="utf-8")
    netlog = tmp_path / "netlog.json"
    run_browser(browser, tmp_path / "profile", "--dump-dom", f"--log-net-log={netlog}",
                page.as_uri())
    assert page_requests(netlog) == ["http://example.invalid/pixel.png"]


def blankness(png: Path) -> list[str]:
    """Why a screenshot looks blank (empty when it does not): one colour, few colours, or
    next to no dark pixels (text and lines)."""
    pixels = image.imread(png)[..., :3]
    problems = []
    if float(pixels.std()) <= 0.05:
        problems.append(f"nearly uniform (sd {float(pixels.std()):.3f})")
    colours = np.unique((pixels.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    if len(colours) <= 100:
        problems.append(f"{len(colours)} colours")
    ink = float((pixels.mean(axis=2) < 0.5).mean())
    if not 0.002 < ink < 0.5:
        problems.append(f"dark pixels {ink:.4f} of the page")
    return problems


def test_the_blank_check_sees_a_blank_page(browser, tmp_path):
    page = tmp_path / "blank.html"
    page.write_text("<html><body></body></html>", encoding="utf-8")
    shot = tmp_path / "blank.png"
    run_browser(browser, tmp_path / "profile", "--window-size=1200,1600",
                f"--screenshot={shot}", page.as_uri())
    assert len(blankness(shot)) == 3


def test_the_page_is_not_blank(rendered):
    assert image.imread(rendered["shot"]).shape[:2] == (1600, 1200)
    assert blankness(rendered["shot"]) == []


def test_the_page_loads_nothing_from_the_network(rendered):
    # In the markup: every src and href is inline (data:) or an anchor (#...).
    for match in re.finditer(r'\b(?:src|href)\s*=\s*"([^"]*)"', rendered["html"]):
        assert match.group(1).startswith(("data:", "#")), match.group(1)
    assert not re.search(r"https?://", rendered["html"])
    # In Chromium's network log: the page asked the network for nothing.
    assert [url for url in page_requests(rendered["netlog"])
            if not url.startswith(LOCAL_SCHEMES)] == []


def test_the_page_opens_with_its_answer(rendered):
    rendered["shows"](rendered["dom"], rendered["printed"])
