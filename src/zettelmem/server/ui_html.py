"""HTML for the web view's shell and its search and note pages: plain server-rendered
markup (every value escaped), no inline script or style, so the page's CSP forbids both."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

from zettelmem.models import SCORE_PARTS, Change, Hit, Lesson, Link, Note, StoredVerdict
from zettelmem.render import note_label

PREFIX = "/ui"
SNIPPET = 400  # characters of a hit's content shown before "…"
NAV = (("search", "Search", "/"), ("graph", "Graph", "/graph"),
       ("timeline", "Timeline", "/timeline"), ("review", "Review", "/review"))  # fmt: skip


def url(path: str, **params: object) -> str:
    """A link inside the view; empty and None parameters are left out."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", False)})
    return f"{PREFIX}{path}" + (f"?{query}" if query else "")


def e(value: object) -> str:
    return escape(str(value), quote=True)


def shell(title: str, body: str, *, active: str, pending: int = 0, flash: str = "",
          error: str = "", scripts: Sequence[str] = ()) -> str:  # fmt: skip
    """The page around a body: navigation (with the review count), messages, scripts."""
    links = []
    for key, name, path in NAV:
        label = f"{name} ({pending})" if key == "review" and pending else name
        current = ' aria-current="page"' if key == active else ""
        links.append(f'<a href="{url(path)}" data-key="{key[0]}"{current}>{e(label)}</a>')
    notes = "".join(
        f'<p class="{kind}" role="{role}">{e(text)}</p>'
        for kind, role, text in (("flash", "status", flash), ("error", "alert", error))
        if text
    )
    tags = "".join(f'<script src="{url("/static/" + s)}" defer></script>' for s in scripts)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} · zettelmem</title>"
        f'<link rel="stylesheet" href="{url("/static/ui.css")}"></head>'
        f'<body><header><strong class="brand">zettelmem</strong><nav>{"".join(links)}</nav>'
        '<span class="keys">keys: / search · g graph · t timeline · r review · j/k move</span>'
        f'</header><main id="main">{notes}{body}</main>'
        f'<script src="{url("/static/ui.js")}" defer></script>{tags}</body></html>'
    )


def options(values: Iterable[str], chosen: str | None, blank: str) -> str:
    out = [f'<option value="">{e(blank)}</option>']
    for value in values:
        mark = " selected" if value == chosen else ""
        out.append(f'<option value="{e(value)}"{mark}>{e(value)}</option>')
    return "".join(out)


def when(note: Note) -> str:
    return (note.event_at or note.created_at)[:16].replace("T", " ")


def notice(text: str) -> str:
    """Why a page shows nothing (an empty memory, a scope that holds no notes), or ""."""
    return f'<p class="notice" role="status">{e(text)}</p>' if text else ""


def note_link(note_id: str, text: str) -> str:
    return f'<a href="{url("/note/" + note_id)}">{e(text)}</a>'


@dataclass(frozen=True)
class SearchForm:
    """The search page's query and filters, as the form sends them."""

    q: str = ""
    scope: str = ""
    tag: str = ""
    since: str = ""
    until: str = ""
    k: int = 20
    superseded: bool = False

    def tags(self) -> list[str]:
        # "#climbing" as the CLI takes it: the mark is how tags are written, not part of them
        words = (x.strip().lstrip("#") for x in self.tag.replace(",", " ").split())
        return [t for t in words if t]


def search_form(form: SearchForm, scopes: Sequence[str]) -> str:
    check = " checked" if form.superseded else ""
    return (
        f'<form class="search" method="get" action="{url("/")}" role="search">'
        f'<input id="q" name="q" type="search" value="{e(form.q)}" placeholder="Search your '
        'memory" aria-label="query" autofocus>'
        f'<select name="scope" aria-label="scope">{options(scopes, form.scope, "every scope")}'
        f'</select><input name="tag" value="{e(form.tag)}" placeholder="tags" aria-label="tags">'
        f'<label>from <input name="since" type="date" value="{e(form.since)}"></label>'
        f'<label>to <input name="until" type="date" value="{e(form.until)}"></label>'
        f'<label><input name="superseded" type="checkbox" value="1"{check}> superseded</label>'
        f'<input name="k" type="hidden" value="{form.k}"><button>Search</button></form>'
    )


def search_page(form: SearchForm, scopes: Sequence[str], hits: Sequence[Hit] | None,
                lessons: Sequence[Lesson], labels: dict[str, str],
                why: str = "") -> str:  # fmt: skip
    """The search form, then lessons, then the hits (None: nothing asked yet); ``why``
    says why there are none when the filters are not the reason."""
    parts = [search_form(form, scopes)]
    if lessons:
        items = "".join(f"<li>{e(x.text)} <small>({e(x.scope)})</small></li>" for x in lessons)
        parts.append(f'<section class="lessons"><h2>Lessons</h2><ul>{items}</ul></section>')
    if hits is None:
        return "".join([*parts, notice(why)])
    found = f"{len(hits)} hit" + ("" if len(hits) == 1 else "s")
    parts.append(f'<p class="count" id="count">{found} for “{e(form.q)}”</p>{notice(why)}')
    parts.append('<ol class="hits">' + "".join(hit_item(h, labels) for h in hits) + "</ol>")
    return "".join(parts)


def hit_item(hit: Hit, labels: dict[str, str]) -> str:
    note = hit.note
    text = note.content if len(note.content) <= SNIPPET else note.content[:SNIPPET] + "…"
    scores = "".join(
        f'<span class="part"><b>{part}</b> {hit.scores[part]:.3f}</span>'
        if part in hit.scores else f'<span class="part none"><b>{part}</b> –</span>'
        for part in SCORE_PARTS
    )  # fmt: skip
    rows = [
        f'<a class="open" href="{url("/note/" + note.id)}">{e(text)}</a>',
        f'<div class="meta">{e(when(note))} · {e(note.scope)} · {e(note.source)}'
        f"{status_badge(note)}</div>",
        f'<div class="scores">{scores}</div>',
    ]
    if hit.via is not None:
        other = hit.via.src if hit.via.src != note.id else hit.via.dst
        rows.append(
            f'<div class="via">via a <b>{e(hit.via.kind)}</b> link from '
            f"{note_link(other, labels.get(other, other))}</div>"
        )
    if hit.trust < 1.0 or hit.warnings:
        warns = "".join(f"<li>{e(w)}</li>" for w in hit.warnings)
        rows.append(f'<div class="trust">trust {hit.trust:.2f}<ul>{warns}</ul></div>')
    return f'<li class="hit">{"".join(rows)}</li>'


def status_badge(note: Note) -> str:
    return "" if note.status == "active" else f' <span class="badge">{e(note.status)}</span>'


def csrf_field(csrf: str) -> str:
    return f'<input type="hidden" name="csrf" value="{e(csrf)}">'


def note_page(note: Note, links: Sequence[Link], others: dict[str, Note],
              changes: Sequence[Change], verdict: StoredVerdict | None,
              csrf: str) -> str:  # fmt: skip
    """One note: content, derived fields, provenance, links both ways, its history."""
    rows = [
        ("scope", e(note.scope)),
        ("when", e(when(note)) + ("" if note.event_at else " (stored)")),
        ("stored", e(note.created_at)),
        ("source", e(note.source)),
        ("status", e(note.status)),
        ("tags", ", ".join(e(t) for t in note.tags) or "–"),
        ("keywords", ", ".join(e(k) for k in note.keywords) or "–"),
        ("context", e(note.context) or "–"),
        ("id", f"<code>{e(note.id)}</code>"),
    ]
    fields = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    parts = [
        f'<article class="note"><h1>{e(note_label(note, 80))}</h1>'
        f'<p class="content">{e(note.content)}</p><dl>{fields}</dl></article>'
    ]
    if verdict is not None:
        reasons = "".join(f"<li>{e(r)}</li>" for r in verdict.reasons)
        parts.append(
            f'<section class="guard"><h2>Awaiting review: {e(verdict.verdict)} '
            f"(risk {verdict.risk:.2f})</h2><ul>{reasons}</ul>"
            f'<p><a href="{url("/review")}">Settle it on the review page</a></p></section>'
        )
    parts.append(links_section(note.id, links, others))
    parts.append(history_section(note.id, changes, csrf))
    return "".join(parts)


def links_section(note_id: str, links: Sequence[Link], others: dict[str, Note]) -> str:
    rows = []
    ways = {(link.kind, link.dst if link.src == note_id else link.src, link.src == note_id)
            for link in links}  # fmt: skip
    for link in links:
        outgoing = link.src == note_id
        other = link.dst if outgoing else link.src
        both = (link.kind, other, not outgoing) in ways
        if both and not outgoing:
            continue  # a two-way link is one row
        name = note_label(others[other], 80) if other in others else other
        arrow = "↔" if both else "→" if outgoing else "←"
        rows.append(
            f"<tr><td>{arrow} {e(link.kind)}</td><td>{link.weight:.2f}</td>"
            f"<td>{note_link(other, name)}</td></tr>"
        )
    table = (
        '<table><thead><tr><th>link</th><th>weight</th><th>note</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>" if rows else "<p>No links.</p>"
    )  # fmt: skip
    return f'<section class="links"><h2>Links ({len(rows)})</h2>{table}</section>'


# A note id in a change's reason ("superseded by 01m9...: ..."): the note that caused it.
_NOTE_ID = re.compile(r"\b[0-9a-hjkmnp-tv-z]{16}\b")


def _linked_ids(reason: str) -> str:
    """The reason, escaped, with each note id in it a link to that note."""
    out, start = [], 0
    for found in _NOTE_ID.finditer(reason):
        out += [e(reason[start : found.start()]), note_link(found.group(0), found.group(0))]
        start = found.end()
    return "".join([*out, e(reason[start:])])


def history_section(note_id: str, changes: Sequence[Change], csrf: str) -> str:
    rows = []
    for c in changes:
        if c.reverted_by:
            action = f"reverted by <code>{e(c.reverted_by)}</code>"
        else:
            action = (
                f'<form method="post" action="{url("/revert")}">{csrf_field(csrf)}'
                f'<input type="hidden" name="change" value="{e(c.change_id)}">'
                f'<input type="hidden" name="note" value="{e(note_id)}">'
                f'<button aria-label="revert {e(c.change_id)}">Revert</button></form>'
            )
        cause = f" (by {note_link(c.cause, 'a new note')})" if c.cause else ""
        rows.append(
            f'<tr id="change-{e(c.change_id)}"><td>{e(c.at[:16])}</td><td>{e(c.field)}</td>'
            f'<td class="before">{e(c.before)}</td><td class="after">{e(c.after)}</td>'
            f"<td>{_linked_ids(c.reason)}{cause}</td><td>{action}</td></tr>"
        )
    table = (
        '<table class="history"><thead><tr><th>at</th><th>field</th><th>before</th>'
        "<th>after</th><th>why</th><th></th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>" if rows else "<p>No changes.</p>"
    )  # fmt: skip
    return f"<section><h2>History ({len(changes)})</h2>{table}</section>"
