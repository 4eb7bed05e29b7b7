"""HTML for the web view's review, timeline and graph pages, and the graph as one
self-contained file (its script, style and data inlined)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from importlib import resources

from zettelmem.models import Note, StoredVerdict
from zettelmem.server.ui_html import (
    csrf_field,
    e,
    note_link,
    notice,
    options,
    status_badge,
    url,
    when,
)

# Notes listed at once on the timeline; a bigger scope is shown a month at a time.
TIMELINE_PAGE = 400


def asset(name: str) -> str:
    """One of the view's own script or style files, shipped in the package."""
    return (resources.files("zettelmem.server") / "ui_assets" / name).read_text("utf-8")


def review_page(pending: Sequence[tuple[Note, StoredVerdict]], csrf: str) -> str:
    if not pending:
        return "<h1>Review</h1><p>Nothing awaits review.</p>"
    items = []
    for note, verdict in pending:
        reasons = "".join(f"<li>{e(r)}</li>" for r in verdict.reasons)
        buttons = "".join(
            f'<form method="post" action="{url("/review/" + act)}"{confirm}>{csrf_field(csrf)}'
            f'<input type="hidden" name="id" value="{e(note.id)}">'
            f'<button class="{act}" aria-label="{act} {e(note.id)}">{label}</button></form>'
            for act, label, confirm in (
                ("approve", "Approve", ""),
                ("reject", "Reject", ' data-confirm="Forget this note and keep a lesson?"'),
            )
        )
        items.append(
            f'<li class="pending" id="pending-{e(note.id)}"><p class="content">'
            f"{note_link(note.id, note.content)}</p>"
            f'<div class="meta">{e(verdict.verdict)} · risk {verdict.risk:.2f} · '
            f"{e(note.scope)} · {e(when(note))} · {e(note.source)}{status_badge(note)}</div>"
            f'<ul class="reasons">{reasons}</ul><div class="actions">{buttons}</div></li>'
        )
    return (
        f"<h1>Review ({len(pending)})</h1><p>Approve makes a note ordinary; reject forgets "
        'it and keeps a lesson from it.</p><ol class="review">' + "".join(items) + "</ol>"
    )


def scope_picker(path: str, scopes: Sequence[str], scope: str | None) -> str:
    return (
        f'<form class="scope" method="get" action="{url(path)}"><label>scope '
        f'<select name="scope">{options(scopes, scope, "every scope")}</select></label>'
        "<button>Show</button></form>"
    )


def timeline_page(notes: Sequence[Note], scopes: Sequence[str], scope: str | None,
                  month: str | None, why: str = "") -> str:  # fmt: skip
    """Notes by when they happened: a month histogram, then one month's (or all) notes;
    ``why`` says why there are none when that is not for lack of notes in the month."""
    ordered = sorted(notes, key=lambda n: (n.event_at or n.created_at, n.id))
    months = Counter((n.event_at or n.created_at)[:7] for n in ordered)
    if month is None and len(ordered) > TIMELINE_PAGE and months:
        month = max(months)
    shown = [n for n in ordered if month is None or (n.event_at or n.created_at)[:7] == month]
    top = max(months.values(), default=1)
    bars = "".join(
        f'<li{" aria-current=true" if m == month else ""}>'
        f'<a href="{url("/timeline", scope=scope, month=m)}">'
        f'<span class="m">{e(m)}</span><meter min="0" max="{top}" value="{c}"></meter>'
        f'<span class="c">{c}</span></a></li>'
        for m, c in sorted(months.items())
    )  # fmt: skip
    head = (
        f"<h1>Timeline{' of ' + e(scope) if scope else ''}</h1>"
        f"{scope_picker('/timeline', scopes, scope)}"
        f"<p>{len(ordered)} notes by when they happened"
        f"{'; showing ' + e(month) if month else ''}.</p>{notice(why)}"
        f'<ol class="months">{bars}</ol>'
    )
    return head + _days(shown)


def _days(notes: Sequence[Note]) -> str:
    out, day = [], None
    for note in notes:
        this = (note.event_at or note.created_at)[:10]
        if this != day:
            out.append(("</ul>" if day else "") + f'<h2 class="day">{e(this)}</h2><ul class="day">')
            day = this
        stamp = (note.event_at or note.created_at)[11:16]
        stored = "" if note.event_at else " <small>(stored)</small>"
        out.append(
            f"<li><time>{e(stamp)}</time>{stored} {note_link(note.id, note.content[:160])}"
            f" <small>{e(note.scope)}</small>{status_badge(note)}</li>"
        )
    return "".join(out) + ("</ul>" if day else "")


def _json_script(doc: dict[str, object]) -> str:
    """The graph's data as a JSON block the script reads (never executed; `<` escaped)."""
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="graph-data">{text}</script>'


def graph_body(doc: dict[str, object], *, mode: str) -> str:
    """The graph page's body; ``mode`` "server" opens notes on click, "file" shows them."""
    total, shown = int(str(doc["total"])), int(str(doc["shown"]))
    sampled = (
        f'<p class="sampled" role="note">Showing {shown:,} of {total:,} notes: the most '
        "linked ones (and every insight). Search to reach the others.</p>"
        if shown < total else ""
    )  # fmt: skip
    groups = doc.get("groups", [])
    legend = "".join(
        f'<li><span class="sw g{i}"></span>{e(g["name"])} <small>({g["size"]})</small></li>'
        for i, g in enumerate(groups if isinstance(groups, list) else [])
    )
    return (
        f'<div class="graph-head"><h1>Graph{" of " + e(doc["scope"]) if doc.get("scope") else ""}'
        f'</h1><span id="graph-count">{shown:,} notes</span>'
        '<input id="find" type="search" placeholder="find a note (Enter opens)" '
        'aria-label="find a note in the graph" list="graph-labels" autocomplete="off">'
        '<datalist id="graph-labels"></datalist></div>'
        f"{sampled}"
        f'<div class="graph-wrap" data-mode="{e(mode)}" data-note="{e(url("/note/"))}">'
        '<canvas id="graph" tabindex="0" aria-label="note graph: drag or arrow keys pan, '
        'wheel or +/- zoom, click a note to open it, space pauses the layout"></canvas>'
        '<aside id="detail" hidden></aside></div>'
        '<ul class="legend"><li><span class="sw shape-note"></span>note</li>'
        '<li><span class="sw shape-insight"></span>insight</li>'
        '<li><span class="sw shape-superseded"></span>superseded</li>'
        f"{legend}</ul>{_json_script(doc)}"
    )


def graph_page(doc: dict[str, object], scopes: Sequence[str], why: str = "") -> str:
    """The graph of a scope (or all) under a scope picker; ``why`` says why it is empty."""
    scope = doc.get("scope")
    picker = scope_picker("/graph", scopes, str(scope) if scope else None)
    return picker + notice(why) + graph_body(doc, mode="server")


def graph_file(doc: dict[str, object]) -> str:
    """The graph as one HTML file that opens anywhere, offline: style, script, data inline."""
    title = f"zettelmem graph{' of ' + str(doc['scope']) if doc.get('scope') else ''}"
    script = asset("graph.js").replace("</", "<\\/")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{asset('ui.css')}</style></head>"
        f'<body class="file"><main id="main">{graph_body(doc, mode="file")}</main>'
        f"<script>{script}</script></body></html>"
    )


def message_page(title: str, text: str) -> str:
    return f"<h1>{e(title)}</h1><p>{e(text)}</p>"


def unreachable_page(reason: str) -> str:
    """Every page while the store does not answer (a database down, gone, unreachable)."""
    return (
        "<h1>The memory's store is unreachable</h1>"
        f'<p class="error" role="alert">{e(reason)}</p>'
        "<p>Check that the database server runs and takes connections (the line above says "
        "what failed); <code>mem doctor</code> checks the store from the shell. Reload this "
        "page once the store answers again: the view asks it afresh on every request.</p>"
    )


def token_page(path: str) -> str:
    """Asked for when a token guards the view and the browser holds none yet."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Token needed · '
        "zettelmem</title></head><body><h1>This memory needs a token</h1><p>Open the address "
        "<code>mem ui</code> printed, or enter the token (MEM_TOKEN) here.</p>"
        f'<form method="get" action="{e(path)}"><input name="token" type="password" '
        'aria-label="token" autofocus><button>Open</button></form></body></html>'
    )
