"""The HTML page in real headless Chromium (Debian's `chromium`, installed by .ci/run).

The page is built from the seeded incident through the real client and the Logging stand-in. A
copy of it gets a measuring script appended (the page itself has none), Chromium lays it out at a
phone's size and at a desktop's, and the test reads the DOM Chromium dumps: the chart, its bars
and markers, the table rows, and whether anything overflows the phone's width. Screenshots are
kept under build/test-artifacts/. Without chromium the test skips with a hint; under CI=true it fails.
"""
from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

import pytest

from sandbox.standins.logging import LoggingStandIn
from shared.gcp.logging import CloudLogPagesAdapter
from shared.timeline.builder import build_timeline
from shared.timeline.html import to_html
from shared.timeline.model import IncidentTimeline
from tests.integration.timeline_world import INCIDENT, NOW, PROJECT, seed_incident

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
PHONE, DESKTOP = (390, 844), (1280, 900)
# Appended to a copy only: records layout facts on the top document's <body> for --dump-dom.
MEASURE = """<script>
const b = (window.parent || window).document.body, rows = document.querySelectorAll('#entries tbody tr');
b.dataset.viewport = String(window.innerWidth);
b.dataset.scrollWidth = String(document.documentElement.scrollWidth);
b.dataset.rowDisplay = rows.length ? getComputedStyle(rows[0]).display : '';
b.dataset.chartWidth = String(Math.round(document.getElementById('chart').getBoundingClientRect().width));
</script>"""


def measured(html: str, script: str = MEASURE) -> str:
    """A copy of the page with `script` appended and allowed by its hash in the page's own policy
    (which allows no script): the page's style stays under the policy it ships with."""
    body = script.removeprefix("<script>").removesuffix("</script>")
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest())
    allowed = html.replace("default-src 'none';", f"default-src 'none'; script-src 'sha256-{digest.decode()}';", 1)
    return allowed.replace("</body>", script + "</body>")


def phone_frame(html: str) -> str:
    """Headless Chromium will not make a window narrower than 500 px: the phone is a 390 x 844
    frame (its own viewport, so the page's media queries see 390 px)."""
    from html import escape

    return (f'<!doctype html><html><body style="margin:0"><iframe id="phone" width="{PHONE[0]}" height="{PHONE[1]}" '
            f'style="border:0" srcdoc="{escape(html, quote=True)}"></iframe></body></html>')


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    hint = "Debian's chromium is not installed: `apt-get install chromium` (.ci/run does)"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI=true and {hint}", pytrace=False)
    pytest.skip(hint)


@pytest.fixture(scope="module")
def timeline() -> Iterator[IncidentTimeline]:
    standin = LoggingStandIn(clock=lambda: NOW)
    standin.start()
    previous = os.environ.get("LOGGING_EMULATOR_HOST")
    os.environ["LOGGING_EMULATOR_HOST"] = standin.address
    adapter = CloudLogPagesAdapter()
    try:
        seed_incident(standin)
        yield build_timeline(INCIDENT, PROJECT, adapter, NOW)
    finally:
        adapter.close()
        standin.stop()
        if previous is None:
            os.environ.pop("LOGGING_EMULATOR_HOST", None)
        else:
            os.environ["LOGGING_EMULATOR_HOST"] = previous


def run_chromium(binary: str, page: Path, size: tuple[int, int], *extra: str) -> str:
    with tempfile.TemporaryDirectory(prefix="runwarden-chromium-") as profile:
        done = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                               f"--window-size={size[0]},{size[1]}", *extra, page.as_uri()],
                              capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Dom(HTMLParser):
    """The elements Chromium dumped: (tag, attributes) in document order."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def all(self, tag: str, cls: str = "") -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag and (not cls or cls in a.get("class", "").split())]

    def body(self) -> dict[str, str]:
        return self.all("body")[0]


@pytest.fixture(scope="module")
def pages(timeline, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("page")
    html = to_html(timeline)
    measured_html = measured(html)
    paths = {"page": html, "measured": measured_html, "phone": phone_frame(html), "phone_measured": phone_frame(measured_html)}
    for name, text in paths.items():
        (folder / f"{name}.html").write_text(text, encoding="utf-8")
    return {name: folder / f"{name}.html" for name in paths}


def test_the_page_in_chromium_at_a_desktops_size(timeline, pages):
    binary = chromium()
    dom = Dom(run_chromium(binary, pages["measured"], DESKTOP, "--dump-dom"))

    assert len(dom.all("svg")) >= 1 and dom.all("svg")[0].get("id") == "chart"
    erroring = [m for m in timeline.errors.minutes if m.errors]
    bars = dom.all("rect", "bar")
    assert len(bars) == len(erroring) == 6 and {b["data-errors"] for b in bars} == {"20"}
    markers = [g["data-kind"] for g in dom.all("g", "marker")]
    assert sorted(markers) == ["action", "alert_close", "alert_open", "human", "human", "human", "recovery"]
    rows = dom.all("tr", "entry")
    assert len(rows) == len(timeline.entries) == 17      # the redelivery's own diagnosis is a row of its own
    assert [r["data-kind"] for r in rows] == [e.kind for e in timeline.entries]
    assert int(dom.body()["data-chart-width"]) > 600
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    run_chromium(binary, pages["page"], DESKTOP, f"--screenshot={ARTIFACTS / 'timeline-desktop.png'}")
    assert (ARTIFACTS / "timeline-desktop.png").stat().st_size > 10_000


def test_the_page_on_a_phone_sized_screen(timeline, pages):
    binary = chromium()
    body = Dom(run_chromium(binary, pages["phone_measured"], (500, 900), "--dump-dom")).body()

    assert int(body["data-viewport"]) <= PHONE[0]
    assert int(body["data-scroll-width"]) <= int(body["data-viewport"])   # nothing wider than the screen
    assert body["data-row-display"] == "block"                            # rows reflow into cards
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    run_chromium(binary, pages["phone"], (500, 900), f"--screenshot={ARTIFACTS / 'timeline-phone.png'}")
    assert (ARTIFACTS / "timeline-phone.png").stat().st_size > 10_000


def test_the_page_needs_nothing_from_the_network(pages):
    text = pages["page"].read_text()
    assert "<script" not in text.lower() and "<link" not in text.lower() and "@import" not in text
    assert "url(" not in text and "src=" not in text


def test_hostile_log_text_stays_text_in_chromium(tmp_path):
    # Script, image, markup and an unbroken 600-character token in every field the logs fill:
    # Chromium's DOM holds none of those elements, one row per entry, and nothing wider than a phone.
    from tests.unit.test_timeline import HOSTILE, hostile

    timeline = hostile()
    timeline.entries[-1].actor.name = timeline.entries[-1].kind = "x" * 600
    html = measured(to_html(timeline))
    (tmp_path / "phone.html").write_text(phone_frame(html), encoding="utf-8")
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    binary = chromium()

    dom = Dom(run_chromium(binary, tmp_path / "page.html", DESKTOP, "--dump-dom"))
    assert len(dom.all("script")) == 1                    # the measuring script appended above, only
    assert not dom.all("img") and not dom.all("iframe")
    assert all(a["href"].startswith("https://console.cloud.google.com/") for a in dom.all("a"))
    assert len(dom.all("tr", "entry")) == len(HOSTILE)
    phone = Dom(run_chromium(binary, tmp_path / "phone.html", (500, 900), "--dump-dom")).body()
    assert int(phone["data-scroll-width"]) <= int(phone["data-viewport"])


def test_dated_rows_of_an_incident_over_midnight_fit_a_phone(tmp_path):
    # Rows on two UTC days carry their date (and a repeat its last one): the wider time cell still
    # fits a phone's width, and the marker after the chart's window is not drawn.
    from datetime import timedelta

    from tests.unit.test_timeline import _over_midnight

    timeline = _over_midnight()
    timeline.entries[1].count, timeline.entries[1].last_at = 4, timeline.entries[1].at + timedelta(minutes=9)
    html = measured(to_html(timeline))
    (tmp_path / "phone.html").write_text(phone_frame(html), encoding="utf-8")
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    binary = chromium()

    dom = Dom(run_chromium(binary, tmp_path / "page.html", DESKTOP, "--dump-dom"))
    assert len(dom.all("tr", "entry")) == 4 and len(dom.all("g", "marker")) == 1
    phone = Dom(run_chromium(binary, tmp_path / "phone.html", (500, 900), "--dump-dom")).body()
    assert int(phone["data-scroll-width"]) <= int(phone["data-viewport"])
    assert "2026-11-27 00:05:00" in html and "last 2026-11-27 00:04:00" in html


# Markup that got past the escaping (a future bug): each would mark the body if it ran or applied.
INJECTED = ('<img src=x onerror="document.body.dataset.ran=\'img onerror\'">'
            '<script>document.body.dataset.ran = "script"</script>'
            '<svg><rect width="1" height="1" onload="document.body.dataset.ran=\'svg onload\'"/></svg>'
            '<a id="js" href="javascript:void(document.body.dataset.ran=\'link\')">x</a>'
            '<style>#entries{display:none}</style><p id="styled" style="display:none">x</p>')
PROBE = """<script>
const b = document.body;
b.dataset.entriesDisplay = getComputedStyle(document.getElementById('entries')).display;
b.dataset.styledDisplay = getComputedStyle(document.getElementById('styled')).display;
b.dataset.legendColour = getComputedStyle(document.querySelector('.legend span')).backgroundColor;
document.getElementById('js').click();
</script>"""


def test_markup_past_the_escaping_neither_runs_nor_restyles_the_page(tmp_path):
    # The page's own policy, in its <meta>, holds wherever the page is opened (a file the CLI
    # wrote, here): no handler, script or javascript: link runs, no injected style applies, and
    # the page's own style (by its hash) still does.
    from tests.unit.test_timeline import hostile

    page = to_html(hostile()).replace("</body>", INJECTED + "</body>")
    (tmp_path / "page.html").write_text(measured(page, PROBE), encoding="utf-8")

    body = Dom(run_chromium(chromium(), tmp_path / "page.html", DESKTOP, "--dump-dom")).body()
    assert "data-ran" not in body, body["data-ran"]
    assert body["data-entries-display"] == "table" and body["data-styled-display"] == "block"
    assert body["data-legend-colour"] == "rgb(191, 135, 0)"                   # the hashed style applies
