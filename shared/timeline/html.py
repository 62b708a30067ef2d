"""The timeline as one self-contained HTML page: no script, no external asset, font or CDN.

An inline SVG chart of errors per minute, marked where the alert opened and closed, where each
action and each person's change happened, and where the service recovered; then the milestones
and the table, which reflows into cards on a phone-sized screen. Every value from the logs is
HTML-escaped and cut to MAX_SHOWN characters: log text is input, not markup. The page carries its
own Content-Security-Policy (PAGE_POLICY): no script runs and no style applies but its own.
"""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from html import escape as _html_escape

from shared.timeline.model import IncidentTimeline, TimelineEntry
from shared.timeline.queries import MAX_FILTER_CHARS
from shared.timeline.words import (MAX_SHOWN, clock, cut, dated, duration, entry_when, milestone_lines, none_found,
                                   still_open, visible, when)

WIDTH, HEIGHT, PAD_L, PAD_B, PAD_T = 720, 220, 40, 24, 14
MARKER_LABELS = {"alert_open": "alert opened", "alert_close": "alert closed", "action": "Runwarden's action",
                 "human": "a person's change", "recovery": "recovered"}

_CSS = """
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--bar:#cf222e}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--bg:#0d1117;--bar:#f85149}}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:16px;color:var(--fg);background:var(--bg)}
h1{font-size:1.35rem;margin:.2em 0}h2{font-size:1.1rem;margin:1.4em 0 .4em}
.muted{color:var(--muted)}.warn{border-left:4px solid #bf8700;padding:.4em .8em;background:rgba(191,135,0,.12)}
.measures{display:flex;flex-wrap:wrap;gap:.5em 1.5em;font-weight:600}
figure{margin:0}svg.chart{width:100%;height:auto;max-height:260px;border:1px solid var(--line);border-radius:6px}
svg .bar{fill:var(--bar)}svg .axis{stroke:var(--line)}svg text{fill:var(--muted);font-size:11px}
.marker line{stroke-width:2;stroke-dasharray:4 3}
.marker-alert_open line{stroke:#bf8700}.marker-alert_close line{stroke:#8250df}.marker-action line{stroke:#0969da}
.marker-human line{stroke:#d1242f}.marker-recovery line{stroke:#1a7f37}
.legend{display:flex;flex-wrap:wrap;gap:.3em 1.2em;font-size:.85rem;margin:.4em 0;padding:0;list-style:none}
.legend span{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:.35em}
.legend .alert_open{background:#bf8700}.legend .alert_close{background:#8250df}.legend .action{background:#0969da}
.legend .human{background:#d1242f}.legend .recovery{background:#1a7f37}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.35em .5em;
border-bottom:1px solid var(--line)}th{font-size:.85rem;color:var(--muted)}
td,h1,p,li,code{overflow-wrap:anywhere}a{color:#0969da}
@media (max-width:640px){
 table.timeline thead{display:none}
 table.timeline tr{display:block;border:1px solid var(--line);border-radius:6px;margin:0 0 .6em;padding:.3em .5em}
 table.timeline td{display:block;border:0;padding:.1em 0}
 table.timeline td::before{content:attr(data-label) ": ";color:var(--muted);font-size:.8rem}
}
"""


# The page's own Content-Security-Policy, in a <meta> so that it holds wherever the page is opened
# (a file the CLI wrote, an attachment), not only when the HTTP function serves it. No script at
# all, nothing loaded, and only this one <style> block, by its hash: markup that ever slipped past
# the escaping could neither run (an onerror handler, a <script>) nor restyle the page (a style
# attribute, a <style>). Content Security Policy Level 3 (W3C): a <meta> policy cannot carry
# frame-ancestors, so the HTTP function adds it in its header (FRAME_POLICY).
STYLE_HASH = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
PAGE_POLICY = f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; base-uri 'none'; form-action 'none'"
FRAME_POLICY = "frame-ancestors 'none'"


def escape(value: object, quote: bool = True, limit: int = MAX_SHOWN) -> str:
    """HTML-escaped, with control, bidi and invisible characters shown as their escapes (a
    right-to-left override in a log line would otherwise reorder the text after it on the page),
    and cut to `limit` characters first, saying how many more there were."""
    return _html_escape(visible(cut(value, limit)), quote)


def isolated(value: object) -> str:
    """`value` escaped, in its own bidirectional isolate: right-to-left letters in one name (no
    override needed) would otherwise reorder the commas and names around it in running text, so
    "A, B" could read as "B, A" (<bdi>, HTML Living Standard; Unicode Bidirectional Algorithm)."""
    return f"<bdi>{escape(value)}</bdi>"


def to_html(t: IncidentTimeline) -> str:
    title = f"Incident {t.incident_id} — {t.service_short or 'unknown service'}"
    parts = [
        "<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{PAGE_POLICY}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">Project {escape(t.project)} · window {escape(clock(t.window_start))} to '
        f"{escape(clock(t.window_end))} · built {escape(clock(t.built_at))} by Runwarden from Cloud Logging</p>",
    ]
    if t.cut_short:
        parts.append('<p class="warn" id="cut-short"><strong>Incomplete:</strong> ' + escape(t.incomplete) + "</p>")
    if t.open_since is not None:
        parts.append('<p class="warn" id="still-open"><strong>Still open:</strong> ' + escape(still_open(t)) + "</p>")
    d = t.durations
    parts.append('<p class="measures" id="measures">'
                 f"<span>TTD {escape(duration(d.ttd_seconds))}</span><span>TTM {escape(duration(d.ttm_seconds))}</span>"
                 f"<span>TTR {escape(duration(d.ttr_seconds))}</span></p>")
    if t.signature:
        parts.append(f"<p>Diagnosis: <strong>{isolated(t.signature)}</strong> — {isolated(t.diagnosis)}</p>")
    parts += ["<h2>Errors per minute</h2>", _chart(t), _legend()]
    parts += ["<h2>Milestones</h2>", _milestones(t)]
    parts += ["<h2>Timeline</h2>", _table(t.entries, dated(t))]
    if t.follow_ups:
        parts.append("<h2>Open follow-ups</h2><ul id=\"follow-ups\">"
                     + "".join(f"<li>{escape(f.text)}" + " or".join(f" <code>{escape(c)}</code>" for c in f.commands)
                               + "</li>" for f in t.follow_ups) + "</ul>")
    if t.evidence:
        parts.append("<h2>Evidence</h2>" + _evidence(t))
    if t.notes:
        parts.append('<h2>Notes</h2><ul id="notes">' + "".join(f"<li>{escape(n)}</li>" for n in t.notes) + "</ul>")
    people = ", ".join(isolated(p) for p in t.people) or escape(none_found(t, "audit", "changes"))
    parts.append(f"<p>People who acted: {people}"
                 + (" — <strong>people acted before Runwarden</strong>" if t.people_acted_first else "") + "</p>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _x(t: IncidentTimeline, at: datetime) -> float:
    span = (t.window_end - t.window_start).total_seconds() or 1.0
    share = min(1.0, max(0.0, (at - t.window_start).total_seconds() / span))
    return PAD_L + share * (WIDTH - PAD_L - 8)


def _chart(t: IncidentTimeline) -> str:
    base, top = HEIGHT - PAD_B, PAD_T
    peak = t.errors.peak or 1
    bar_w = max(1.0, (WIDTH - PAD_L - 8) / max(1, len(t.errors.minutes)) - 1)
    out = [f'<figure><svg class="chart" id="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{escape(t.errors.metric)}, peak {peak if t.errors.peak else 0}" '
           'xmlns="http://www.w3.org/2000/svg">',
           f'<line class="axis" x1="{PAD_L}" y1="{base}" x2="{WIDTH - 8}" y2="{base}"/>',
           f'<text x="4" y="{top + 8}">{t.errors.peak}</text><text x="4" y="{base}">0</text>']
    for m in t.errors.minutes:
        if not m.errors:
            continue
        h = (base - top) * m.errors / peak
        out.append(f'<rect class="bar" data-minute="{m.minute:%H:%M}" data-errors="{m.errors}" '
                   f'x="{_x(t, m.minute):.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
                   f"<title>{m.minute:%H:%M}Z: {m.errors} errors</title></rect>")
    days = dated(t)     # once, not per marker: it reads every row
    for e in t.entries:
        # A row outside the chart's window (an incident longer than the window's 24 hours) is in the
        # table; drawn, it would sit at the chart's edge, at a time it did not happen.
        if e.marker and t.window_start <= e.at <= t.window_end:
            x = _x(t, e.at)
            label = f"{when(e.at, days)}Z {MARKER_LABELS.get(e.marker, e.marker)}: {e.summary}"
            out.append(f'<g class="marker marker-{escape(e.marker)}" data-kind="{escape(e.marker)}">'
                       f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{base}"/>'
                       f'<title>{escape(label)}</title></g>')
    ends = "%Y-%m-%d %H:%M" if t.window_start.date() != t.window_end.date() else "%H:%M"
    out.append(f'<text x="{PAD_L}" y="{HEIGHT - 6}">{t.window_start.strftime(ends)}Z</text>'
               f'<text x="{WIDTH - 8}" y="{HEIGHT - 6}" text-anchor="end">{t.window_end.strftime(ends)}Z</text>')
    if not t.errors.minutes:
        out.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no error series</text>')
    out.append("</svg>")
    if t.errors.source:
        origin, _, query = t.errors.source.partition(": ")
        out.append(f'<figcaption class="muted">{escape(t.errors.metric)}, from {escape(origin)} '
                   f"<details><summary>query</summary><code>{escape(query, limit=MAX_FILTER_CHARS)}</code></details>"
                   "</figcaption>")
    out.append("</figure>")
    return "".join(out)


def _legend() -> str:
    # Colours by class, not a style attribute: the policy allows only the hashed <style> block.
    return '<ul class="legend">' + "".join(
        f'<li><span class="{k}"></span>{escape(v)}</li>' for k, v in MARKER_LABELS.items()) + "</ul>"


def _milestones(t: IncidentTimeline) -> str:
    rows = "".join(
        f'<tr><td data-label="milestone">{name}</td>'
        f'<td data-label="time">{escape(clock(m.at) if m else "unknown")}</td>'
        f'<td data-label="how">{escape((m.what + (f" ({m.by})" if m.by else "")) if m else "")}</td>'
        f'<td data-label="log">{_link(m.link) if m else ""}</td></tr>'
        for name, m in milestone_lines(t))
    return ('<table class="timeline" id="milestones"><thead><tr><th>milestone</th><th>time (UTC)</th><th>how</th>'
            f"<th>log</th></tr></thead><tbody>{rows}</tbody></table>")


def _table(entries: list[TimelineEntry], with_date: bool) -> str:
    rows = []
    for e in entries:
        rows.append(
            f'<tr class="entry source-{e.source.value}" data-kind="{escape(e.kind)}">'
            f'<td data-label="time">{escape(entry_when(e, with_date))}</td>'
            f'<td data-label="source">{e.source.value}</td>'
            f'<td data-label="actor">{escape(e.actor.name)}</td>'
            f'<td data-label="event">{escape(e.kind)}</td>'
            f'<td data-label="summary" class="summary">{escape(e.summary)}</td>'
            f'<td data-label="log">{_link(e.link)}</td></tr>')
    return ('<table class="timeline" id="entries"><thead><tr><th>time (UTC)</th><th>source</th><th>actor</th>'
            f'<th>event</th><th>summary</th><th>log</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _evidence(t: IncidentTimeline) -> str:
    rows = "".join(
        f'<tr><td data-label="source">{escape(e.source)}</td><td data-label="observed">{escape(e.observed)}</td>'
        f'<td data-label="threshold">{escape(e.threshold or "—")}</td>'
        f'<td data-label="met">{ {True: "yes", False: "no", None: "context"}[e.passed] }</td></tr>' for e in t.evidence)
    return ('<table class="timeline" id="evidence"><thead><tr><th>source</th><th>observed</th><th>threshold</th>'
            f"<th>met</th></tr></thead><tbody>{rows}</tbody></table>")


def _link(url: str) -> str:
    # The builder percent-encodes every part; anything unprintable or a space is not its link.
    if not url.startswith("https://console.cloud.google.com/") or not url.isprintable() or " " in url:
        return ""
    return f'<a href="{escape(url, quote=True, limit=len(url))}" rel="noreferrer">Logs Explorer</a>'
