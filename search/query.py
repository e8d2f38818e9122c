"""Query understanding: what a German query asks for beyond its words.

"Projekte Kreislaufwirtschaft Kreis Unna" names the place Kreis Unna: search prefers passages about
it or any of its Gemeinden (soft boost), or keeps only those (hard filter) when asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.gazetteer import Gazetteer


@dataclass(frozen=True)
class PlaceInQuery:
    ags: str
    name: str
    start: int
    end: int


@dataclass(frozen=True)
class QueryPlan:
    text: str
    places: tuple[PlaceInQuery, ...] = ()

    @property
    def place_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.ags for p in self.places))


def understand(query: str, gazetteer: Gazetteer) -> QueryPlan:
    # queries are often typed in lower case; the gazetteer's guards keep acronyms and common words out
    mentions = gazetteer.find_places(query, ignore_case=True)
    return QueryPlan(
        text=query,
        places=tuple(PlaceInQuery(m.ags, m.name, m.start, m.end) for m in mentions),
    )
