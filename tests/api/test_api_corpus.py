"""A small German corpus, indexed into the real embedded store, shared by the API and web tests.

The index is built once per test process (``shared_index``: real parsers, chunker, enrichment and
Qdrant Edge, with the deterministic ``HashingEmbedder``) and every test module gets its own copy of
the data dir (``api_env``), so a module that ingests or crawls cannot disturb another. Other test
modules import the fixtures from here (``from test_api_corpus import api_env, client``).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.gazetteer import load_gazetteer
from core.model.embedding import HashingEmbedder
from core.rawstore import RawStore
from core.registry import Registry
from core.settings import Settings
from core.store.factory import open_store
from ingest.discovery import discover
from ingest.pipeline import Indexer, inline_parser
from ingest.report import IngestReport

ADMIN_KEY = "test-admin-key-0123456789abcdef"
EMBED_DIM = 256
XSS = "<script>alert(1)</script>"


def _html(title: str, date: str, canonical: str, paragraphs: list[str], lang: str = "de") -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="canonical" href="{canonical}">
<meta property="article:published_time" content="{date}T10:00:00+01:00">
</head>
<body>
<nav><a href="/">Startseite</a> | <a href="/presse/">Presse</a></nav>
<main><article>
<h1>{title}</h1>
{body}
</article></main>
<footer>Impressum | Datenschutz</footer>
</body>
</html>
"""


ECOTECHUB = [
    "Bergkamen, 10. Mai 2023. Die Wirtschaftsförderung Kreis Unna startet gemeinsam mit der Hochschule "
    "Bochum den EcoTecHub in Bergkamen. Das Zentrum für Kreislaufwirtschaft soll Unternehmen aus der Region "
    "beim Recycling von Kunststoffen, Metallen und Baustoffen unterstützen.",
    "Gefördert wird die Vorstudie aus dem 5-StandorteProgramm des Landes Nordrhein-Westfalen. Die Förderquote "
    "beträgt 90 Prozent, das Gesamtvolumen liegt bei 1,2 Millionen Euro. Landrat und Bürgermeister begrüßten "
    "die Entscheidung ausdrücklich, weil die Kreislaufwirtschaft neue Arbeitsplätze am ehemaligen "
    "Kraftwerksstandort schaffen kann.",
    "In einem ersten Workshop diskutierten Vertreterinnen und Vertreter aus Handwerk, Industrie und Verwaltung "
    "über Stoffkreisläufe, Reparaturnetzwerke und die Rückgewinnung von Rohstoffen aus Elektroschrott. "
    "Weitere Veranstaltungen in Bergkamen und Lünen sind für den Herbst geplant.",
]
WASSERSTOFF = [
    "Gelsenkirchen, 3. November 2021. Auf dem Gelände des früheren Kraftwerks in Gelsenkirchen-Scholven "
    "entsteht ein Campus für Wasserstoff. Die Stadt Gelsenkirchen erhält dafür Mittel aus dem Just "
    "Transition Fund der Europäischen Union.",
    "Der Elektrolyseur soll grünen Wasserstoff für Busse und Müllfahrzeuge liefern. Die Förderung umfasst "
    "Planung, Bau und den Betrieb in den ersten drei Jahren; Partner sind die Westfälische Hochschule und "
    "mehrere Unternehmen der Chemieindustrie.",
]
HERNE = [
    "Projekt: Das Transformationsbüro Herne begleitet den Strukturwandel nach dem Ende der Steinkohle. Es wird "
    "aus dem Bundesprogramm STARK gefördert und berät Unternehmen, Beschäftigte und Kommunen.",
    "Schwerpunkte sind Qualifizierung, Flächenentwicklung und die Vernetzung von Hochschulen mit dem Mittelstand. "
    "Bis 2025 sollen zwanzig Vorhaben angestoßen werden, darunter ein Reallabor für klimaneutrale Quartiere.",
]
UNNA = [
    "Unna, 27. April 2022. Die Kreisstadt Unna hat an sechs städtischen Standorten 24 neue Ladepunkte für "
    "Elektrofahrzeuge in Betrieb genommen. Der Ausbau wurde aus Mitteln für Elektromobilität gefördert.",
    "Die Ladesäulen stehen am Rathaus, am Bahnhof und an vier Schulen. Der Strom stammt vollständig aus "
    "erneuerbaren Quellen; die Abrechnung erfolgt über gängige Ladekarten.",
]
ENGLISH = [
    "Dortmund, 15 March 2020. The Ruhr area is changing from coal and steel to services, logistics and "
    "research. Investors find universities, a skilled workforce and available industrial land.",
    "The regional development agency supports companies that want to invest in Dortmund and the surrounding "
    "districts with advice on sites, permits and funding programmes.",
]
NOTE = """Protokoll Lenkungskreis Strukturwandel Kreis Unna, 27.09.2023

Teilnehmende: Vertreterinnen und Vertreter der Städte Bergkamen, Lünen, Schwerte und Werne sowie der
Wirtschaftsförderung. Beraten wurden der Sachstand des 5-StandorteProgramms, die Flächenentwicklung am
Kraftwerk Gersteinwerk in Werne und eine gemeinsame Strategie für die Kreislaufwirtschaft.

Beschluss: Die Machbarkeitsstudie für das Gersteinwerk wird bis Ende 2024 abgeschlossen. § 4 Abs. 2 der
Geschäftsordnung gilt entsprechend; die nächste Sitzung findet im Frühjahr statt.
"""
XSS_DOC = f"""# {XSS} Förderaufruf Schwammstadt Kamen

Dieser Text enthält {XSS} und <b>fett</b> als reinen Text. Die Stadt Kamen erhält Fördermittel für die
Schwammstadt an der Seseke: Regenwasser soll versickern statt in die Kanalisation zu fließen.
"""
PDF_PAGES = [
    "Fortschrittsbericht 5-StandorteProgramm 2024. Der Bericht fasst den Stand der geförderten Vorhaben an "
    "den fünf Steinkohlekraftwerksstandorten zusammen: Duisburg, Gelsenkirchen, Hamm, Herne und Kreis Unna. "
    "Insgesamt wurden bisher 48 Projekte bewilligt.",
    "Seite zwei: In Hamm entsteht am Standort Uentrop ein Wasserstoffzentrum. Im Kreis Unna wurden die "
    "Vorstudie zum EcoTecHub in Bergkamen und die Machbarkeitsstudie zum Gersteinwerk in Werne bewilligt. "
    "Die Kreislaufwirtschaft bleibt ein Schwerpunkt der Region.",
]


def write_corpus(root: Path) -> Path:
    """The corpus files under ``root/corpus``; returns that folder."""
    from fpdf import FPDF

    folder = root / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "pm-ecotechub-bergkamen.html": _html(
            "Pressemitteilung: EcoTecHub für Kreislaufwirtschaft in Bergkamen startet",
            "2023-05-10",
            "https://wfg.example.de/presse/ecotechub-bergkamen",
            ECOTECHUB,
        ),
        "pm-wasserstoff-gelsenkirchen.html": _html(
            "Pressemitteilung: Wasserstoff-Campus Gelsenkirchen erhält JTF-Förderung",
            "2021-11-03",
            "https://stadt.example.de/presse/wasserstoff-campus",
            WASSERSTOFF,
        ),
        "projekt-transformationsbuero-herne.html": _html(
            "Projekt: Transformationsbüro Herne", "2022-02-01", "https://herne.example.de/projekte/tb", HERNE
        ),
        "pm-ladepunkte-unna.html": _html(
            "Pressemitteilung: 24 neue Ladepunkte in Unna",
            "2022-04-27",
            "https://unna.example.de/presse/ladepunkte",
            UNNA,
        ),
        "en-invest-dortmund.html": _html(
            "Invest in Dortmund: structural change in the Ruhr",
            "2020-03-15",
            "https://invest.example.com/ruhr",
            ENGLISH,
            lang="en",
        ),
        "protokoll-lenkungskreis-2023.txt": NOTE,
        "xss-schwammstadt.md": XSS_DOC,
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    pdf = FPDF()
    pdf.set_title("Fortschrittsbericht 5-StandorteProgramm 2024")
    pdf.set_creation_date(datetime(2024, 3, 1, 12, 0, tzinfo=UTC))
    pdf.set_font("Helvetica", size=12)
    for page in PDF_PAGES:
        pdf.add_page()
        pdf.multi_cell(0, 8, page)
    pdf.output(str(folder / "bericht-5-standorte-2024.pdf"))
    return folder


def index_corpus(settings: Settings, folder: Path) -> IngestReport:
    """Ingest ``folder`` into ``settings.data_dir`` with the real pipeline (in-process parser)."""
    store = open_store(settings)
    try:
        with Registry(settings.registry_path) as registry:
            indexer = Indexer(
                settings=settings,
                embedder=HashingEmbedder(EMBED_DIM),
                store=store,
                registry=registry,
                raw=RawStore(settings.raw_dir),
                gazetteer=load_gazetteer(),
                parser=inline_parser,
            )
            items, _ = discover([folder])
            return indexer.ingest(items)
    finally:
        store.close()


@dataclass(frozen=True)
class SharedIndex:
    root: Path
    corpus: Path
    data_dir: Path
    report: IngestReport


_SHARED: list[SharedIndex] = []


def shared_index() -> SharedIndex:
    """Built once per test process (about a second); read-only: modules copy it (``api_env``)."""
    if not _SHARED:
        root = Path(tempfile.mkdtemp(prefix="foerdersuche-api-"))
        atexit.register(shutil.rmtree, root, True)
        corpus = write_corpus(root)
        data_dir = root / "data"
        report = index_corpus(Settings(data_dir=data_dir), corpus)
        _SHARED.append(SharedIndex(root, corpus, data_dir, report))
    return _SHARED[0]


@dataclass(frozen=True)
class ApiEnv:
    settings: Settings
    corpus: Path  # an allowed ingest root holding the corpus files
    inbox: Path  # an empty allowed ingest root


def make_env(target: Path, **overrides: object) -> ApiEnv:
    shared = shared_index()
    shutil.copytree(shared.data_dir, target / "data")
    corpus = target / "corpus"
    shutil.copytree(shared.corpus, corpus)
    inbox = target / "inbox"
    inbox.mkdir()
    values: dict[str, object] = {
        "data_dir": target / "data",
        "admin_key": ADMIN_KEY,
        "ingest_roots": (corpus, inbox),
        **overrides,
    }
    return ApiEnv(Settings(**values), corpus, inbox)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def api_env(tmp_path_factory: pytest.TempPathFactory) -> ApiEnv:
    return make_env(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(api_env: ApiEnv) -> Iterator[TestClient]:
    app = create_app(api_env.settings, embedder=HashingEmbedder(EMBED_DIM))
    with TestClient(app) as c:
        yield c


def doc_id_of(client: TestClient, title_part: str) -> str:
    """The id of the corpus document whose title contains ``title_part`` (via the API)."""
    for q in (title_part, "Förderung"):
        body = client.get("/search", params={"q": q, "k": 200, "page_size": 50}).json()
        for group in body["results"]:
            if title_part in group["title"]:
                return str(group["doc_id"])
    raise AssertionError(f"no document titled like {title_part!r}")


# ----------------------------------------------------------------------------- the corpus itself


def test_every_corpus_file_is_indexed() -> None:
    report = shared_index().report
    assert report.counts() == {"indexed": 8}, report.to_dict()
    assert report.passages_written >= 8


def test_the_corpus_carries_what_the_filters_need(client: TestClient) -> None:
    facets = client.get("/facets").json()["facets"]
    assert {"05978004", "05978"} <= {p["value"] for p in facets["places"]}  # Bergkamen and its Kreis Unna
    assert "5-StandorteProgramm" in {p["value"] for p in facets["programs"]}
    assert {"press_release", "progress_report"} <= {d["value"] for d in facets["doc_types"]}
    assert {"de", "en"} <= {lang["value"] for lang in facets["languages"]}
    assert {"2021", "2022", "2023"} <= {y["value"] for y in facets["years"]}
