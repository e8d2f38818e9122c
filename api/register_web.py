"""The web page's register: "Vorhaben" (projects), "Förderangaben" (funding facts) and one project's page.

Server-rendered like the rest of the page (``api.web``: autoescaping Jinja, the same CSP, German error
pages); the filters go through ``search.register.resolve_register_query``, the resolver of the CLI and
the JSON API (``/projects``, ``/facts``), so a place filter includes the Gemeinden of a Kreis and an
unknown place or program is the same German message everywhere. Sorting is done here, by links in the
column headers (``sort``, ``dir``), so it works without script. Every amount links to its cited
sentence in the document view (``/dokument/{doc_id}?char_start=..&char_end=..``).

The register is an in-memory filter over the registry, like ``/projects`` and ``/facts``, so these
pages are not under the search rate limit (``api.ratelimit``), which guards the embedding searches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from api.deps import StateDep
from api.errors import ApiError
from api.schemas import RegisterParams
from api.state import AppState
from api.web import _error_message, render
from core.errors import FoerdersucheError
from core.facts import FactKind
from core.gazetteer import Gazetteer
from search.register import (
    Citation,
    Project,
    Register,
    RegisterFact,
    RegisterQuery,
    distinct_amounts,
    resolve_register_query,
    select_facts,
    select_projects,
    sums,
)

PROJECT_ID = re.compile(r"^p-[0-9a-f]{10}$")
KIND_LABELS = {"funding": "Förderung", "cost": "Kosten", "budget": "Budget", "other": "sonstiges"}
STATUS_LABELS = {"planned": "geplant", "approved": "bewilligt", "running": "läuft", "completed": "abgeschlossen"}
STATUS_ORDER = {"planned": 0, "approved": 1, "running": 2, "completed": 3}
PLACE_KIND_LABELS = {"kreis": "Kreis", "kreisfreie_stadt": "kreisfreie Stadt", "gemeinde": "Gemeinde"}

T = TypeVar("T")

router = APIRouter(include_in_schema=False)


def euro(value: float) -> str:
    """German money format: 150.000 €, 1,08 Mio. €, 662 Mio. € (as ``foerdersuche facts`` prints it)."""
    if value >= 1_000_000:
        text = f"{value / 1_000_000:,.2f}".rstrip("0").rstrip(".")
        return text.replace(",", "X").replace(".", ",").replace("X", ".") + " Mio. €"
    return f"{value:,.0f}".replace(",", ".") + " €"


def cite_href(c: Citation) -> str:
    """The document view with the cited characters marked (and scrolled to)."""
    return f"/dokument/{c.doc_id}?" + urlencode([("char_start", c.char_start), ("char_end", c.char_end)])


# ----------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class ProjectRow:
    """One line of the "Vorhaben" table: the project and what its cells show."""

    project: Project
    funding: tuple[RegisterFact, ...]  # each distinct granted amount once, each with its citation
    funding_total: float
    first_date: str | None
    last_date: str | None
    documents: int

    @classmethod
    def of(cls, p: Project) -> ProjectRow:
        funding = tuple(f for f in distinct_amounts(p.facts) if f.fact.kind is FactKind.FUNDING)
        return cls(
            project=p,
            funding=funding,
            funding_total=sum(f.fact.eur for f in funding),
            first_date=p.timeline[0].date if p.timeline else None,
            last_date=p.timeline[-1].date if p.timeline else None,
            documents=len({m.doc_id for m in p.mentions}),
        )


def _joined(values: Sequence[str]) -> str | None:
    return ", ".join(values).lower() or None


PROJECT_SORTS: dict[str, Callable[[ProjectRow], Any]] = {
    "name": lambda r: r.project.name.lower(),
    "place": lambda r: _joined([p.name for p in r.project.places]),
    "program": lambda r: _joined(r.project.programs),
    "amount": lambda r: r.funding_total or None,
    "date": lambda r: r.first_date,
    "organisations": lambda r: _joined(r.project.organisations),
    "status": lambda r: STATUS_ORDER[r.project.status.value] if r.project.status else None,
    "documents": lambda r: r.documents,
}
FACT_SORTS: dict[str, Callable[[RegisterFact], Any]] = {
    "amount": lambda f: f.fact.eur,
    "kind": lambda f: KIND_LABELS[f.fact.kind.value],
    "project": lambda f: (f.fact.project or f.fact.purpose).lower(),
    "place": lambda f: _joined([p.name for p in f.fact.places]),
    "program": lambda f: _joined(f.fact.programs),
    "date": lambda f: f.fact.date or f.doc_date,
    "source": lambda f: (f.citation.title or f.citation.source).lower(),
}


def sort_rows(rows: Sequence[T], keys: dict[str, Callable[[T], Any]], sort: str | None, desc: bool) -> list[T]:
    """``rows`` by the column ``sort`` (stable; empty cells last in either direction); unsorted when
    ``sort`` is no column."""
    if sort not in keys:
        return list(rows)
    key = keys[sort]
    filled = sorted((r for r in rows if key(r) is not None), key=key, reverse=desc)
    return filled + [r for r in rows if key(r) is None]


# ----------------------------------------------------------------------------- request


@dataclass(frozen=True)
class View:
    """What a register page was asked for: the validated filters, the sort and the chosen places."""

    params: RegisterParams
    sort: str | None
    desc: bool

    def query(self, *, with_q: bool = True, **changes: str | None) -> str:
        """The URL query of the filters (and sort) with ``changes`` (None removes a key)."""
        values: dict[str, list[str]] = {
            "place": list(self.params.place),
            "program": list(self.params.program),
            "q": [self.params.q] if with_q and self.params.q else [],
            "doc": [self.params.doc] if self.params.doc else [],
            "sort": [self.sort] if self.sort else [],
            "dir": ["desc"] if self.sort and self.desc else [],
        }
        for key, value in changes.items():
            values[key] = [value] if value else []
        return urlencode([(k, v) for k, vs in values.items() for v in vs])

    def filters(self, *, with_q: bool = True) -> str:
        """The filters alone (for the CSV links and the tab links)."""
        return self.query(with_q=with_q, sort=None, dir=None)

    def sort_link(self, column: str, first_desc: bool = False) -> str:
        """The header link of ``column``: sort by it, or turn the direction when it is sorted already."""
        if self.sort == column:
            return self.query(sort=column, dir=None if self.desc else "desc")
        return self.query(sort=column, dir="desc" if first_desc else None)

    def aria_sort(self, column: str) -> str | None:
        if self.sort != column:
            return None
        return "descending" if self.desc else "ascending"


def _view(request: Request, sorts: Sequence[str]) -> View:
    """The page's parameters (empty form fields dropped); ValidationError for malformed ones."""
    qp = request.query_params
    raw: dict[str, Any] = {
        "place": [v.strip() for v in qp.getlist("place") if v.strip()],
        "program": [v.strip() for v in qp.getlist("program") if v.strip()],
    }
    for key in ("q", "doc"):
        value = (qp.get(key) or "").strip()
        if value:
            raw[key] = value
    sort = qp.get("sort")
    return View(RegisterParams.model_validate(raw), sort if sort in sorts else None, qp.get("dir") == "desc")


def _place_options(gazetteer: Gazetteer, keys: set[str]) -> list[tuple[str, str, int]]:
    """(AGS, label, depth) for the place filter: each Kreis or kreisfreie Stadt the register knows, with
    its Gemeinden below it."""
    local = {k for k in keys if k in gazetteer.local_keys}
    for k in list(local):
        local.update(u for u in gazetteer.expand_up(k) if u in gazetteer.local_keys)
    tops = sorted((k for k in local if gazetteer.places[k].kind != "gemeinde"), key=lambda k: gazetteer.places[k].name)
    out: list[tuple[str, str, int]] = []
    for top in tops:
        out.append((top, gazetteer.places[top].name, 0))
        below = sorted(
            (k for k in local if gazetteer.places[k].parent_ags == top and k != top),
            key=lambda k: gazetteer.places[k].name,
        )
        out.extend((k, gazetteer.places[k].name, 1) for k in below)
    listed = {k for k, _, _ in out}
    out.extend((k, gazetteer.places[k].name, 0) for k in sorted(local - listed))
    return out


LABELS: dict[str, Any] = {
    "kind_labels": KIND_LABELS,
    "status_labels": STATUS_LABELS,
    "place_kind_labels": PLACE_KIND_LABELS,
    "euro": euro,
    "cite_href": cite_href,
}


def _list_page(request: Request, state: AppState, tab: str, sorts: Sequence[str]) -> HTMLResponse | ListPage:
    """The filters of a list page resolved against the register, or the German error page that says
    why not (malformed parameters 422, an unknown place or program 400, no register 503)."""
    ctx: dict[str, Any] = {"tab": tab, "nav": "vorhaben", "view": None, "raw_q": request.query_params.get("q", "")}
    try:
        ctx["view"] = view = _view(request, sorts)
        register = state.register()
        gazetteer = state.require_gazetteer()
        ctx.update(_choices(register, gazetteer))
        rq = resolve_register_query(
            gazetteer,
            places=view.params.place,
            programs=view.params.program,
            doc_id=view.params.doc,
            query=view.params.q,
        )
    except (ValidationError, FoerdersucheError, ApiError) as exc:
        status, message = _error_message(exc)
        return render(request, "register.html", status, error=message, **ctx, **LABELS)
    ctx.update(
        chosen_place=rq.place_keys[0] if rq.place_keys else None,
        extra_places=[(k, gazetteer.places[k].name) for k in rq.place_keys[1:] if k in gazetteer.places],
        chosen_program=rq.programs[0] if rq.programs else None,
        extra_programs=list(rq.programs[1:]),
    )
    ctx["program_options"] = sorted(set(ctx["program_options"]) | set(rq.programs))
    known = {k for k, _, _ in ctx["place_options"]}
    ctx["place_options"] += [(k, gazetteer.places[k].name, 0) for k in rq.place_keys[:1] if k not in known]
    facts = select_facts(register, rq, gazetteer)
    ctx.update(error=None, sums=sums(facts, gazetteer), fact_count=len(facts))
    return ListPage(view, register, gazetteer, rq, facts, ctx)


@dataclass(frozen=True)
class ListPage:
    view: View
    register: Register
    gazetteer: Gazetteer
    query: RegisterQuery
    facts: list[RegisterFact]  # the facts under the filters (their sums are in ``context``)
    context: dict[str, Any]


def _choices(register: Register, gazetteer: Gazetteer) -> dict[str, Any]:
    """The places and programs the filter offers: those the register holds."""
    keys = {p.ags for f in register.facts for p in f.fact.places} | {p.ags for x in register.projects for p in x.places}
    programs = {x for f in register.facts for x in f.fact.programs} | {x for p in register.projects for x in p.programs}
    return {
        "place_options": _place_options(gazetteer, keys),
        "program_options": sorted(programs),
        "chosen_place": None,
        "extra_places": [],
        "chosen_program": None,
        "extra_programs": [],
    }


# ----------------------------------------------------------------------------- pages


@router.get("/vorhaben", response_class=HTMLResponse)
def projects_page(request: Request, state: StateDep) -> HTMLResponse:
    page = _list_page(request, state, "vorhaben", tuple(PROJECT_SORTS))
    if isinstance(page, HTMLResponse):
        return page
    rows = [ProjectRow.of(p) for p in select_projects(page.register, page.query, page.gazetteer)]
    return render(
        request,
        "register.html",
        rows=sort_rows(rows, PROJECT_SORTS, page.view.sort, page.view.desc),
        total=len(page.register.projects),
        **page.context,
        **LABELS,
    )


@router.get("/foerderangaben", response_class=HTMLResponse)
def facts_page(request: Request, state: StateDep) -> HTMLResponse:
    page = _list_page(request, state, "foerderangaben", tuple(FACT_SORTS))
    if isinstance(page, HTMLResponse):
        return page
    return render(
        request,
        "register.html",
        facts=sort_rows(page.facts, FACT_SORTS, page.view.sort, page.view.desc),
        total=len(page.register.facts),
        **page.context,
        **LABELS,
    )


@router.get("/vorhaben/{project_id}", response_class=HTMLResponse)
def project_page(request: Request, state: StateDep, project_id: str) -> HTMLResponse:
    try:
        register = state.register()
    except (FoerdersucheError, ApiError) as exc:
        status, message = _error_message(exc)
        return render(request, "error.html", status, title="Vorhaben nicht verfügbar", message=message)
    project = register.by_id.get(project_id) if PROJECT_ID.match(project_id) else None
    if project is None:
        return render(
            request,
            "error.html",
            404,
            title="Vorhaben nicht gefunden",
            message="Dieses Vorhaben gibt es im Register nicht (mehr); die Dokumente wurden vielleicht neu eingelesen.",
        )
    return render(request, "project.html", p=project, row=ProjectRow.of(project), nav="vorhaben", **LABELS)
