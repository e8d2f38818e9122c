"""The sources file: the shipped one parses, bad ones fail with a CrawlError that says where and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import CrawlError
from core.settings import PROJECT_ROOT
from ingest.crawl.sources import CrawlOptions, load_sources, parse_sources

GOOD = """
[crawler]
delay_s = 0.5
concurrency = 2

[[sources]]
name = "ecotechub"
start_urls = ["https://www.hochschule-bochum.de/labor-nachhaltigkeit-technik/ecotechub-bergkamen/#top"]
allowed_hosts = ["www.hochschule-bochum.de", "*.hs-bochum.de"]
include = ["(?i)ecotechub"]
exclude = ["/en/"]
max_depth = 1
max_pages = 5

[[sources]]
name = "lokal"
start_urls = ["http://127.0.0.1:8080/start"]
allow_private = true
"""


def test_a_good_file() -> None:
    parsed = parse_sources(GOOD, Path("s.toml"))
    assert parsed.options == CrawlOptions(delay_s=0.5, concurrency=2)
    eco, local = parsed.sources
    assert eco.start_urls == ("https://www.hochschule-bochum.de/labor-nachhaltigkeit-technik/ecotechub-bergkamen/",)
    assert eco.allowed_hosts == ("www.hochschule-bochum.de", "*.hs-bochum.de")
    assert (eco.max_depth, eco.max_pages, eco.allow_private) == (1, 5, False)
    assert eco.scope.why_not("https://www.hochschule-bochum.de/ecotechub/workshop") is None
    assert local.allowed_hosts == ("127.0.0.1",)  # default: the hosts of the start URLs, without port
    assert local.allow_private and (local.max_depth, local.max_pages) == (3, 200)
    assert [s.name for s in parsed.select(["lokal"])] == ["lokal"]
    with pytest.raises(CrawlError, match="no source named nope"):
        parsed.select(["nope"])


def test_the_shipped_sources_file() -> None:
    parsed = load_sources(PROJECT_ROOT / "corpus" / "sources.toml")
    names = {s.name for s in parsed.sources}
    assert {"projektbuero-kraftwerk", "ruhr-konferenz", "wfg-kreis-unna", "ecotechub", "emetropole-ruhr"} <= names
    hosts = {h for s in parsed.sources for h in s.allowed_hosts}
    for expected in (
        "business.metropoleruhr.de",
        "www.ruhr-konferenz.nrw",
        "www.wfg-kreis-unna.de",
        "www.hs-bochum.de",
        "www.emetropoleruhr.de",
    ):
        assert expected in hosts
    assert not any(s.allow_private for s in parsed.sources)


BAD = [
    ("[[sources]]\nname = 'x'\nstart_urls = ['https://a.de/'\n", "not valid TOML"),
    ("", "no \\[\\[sources\\]\\] entries"),
    ("[[sources]]\nstart_urls = ['https://a.de/']\n", "sources\\[0\\]: name"),
    ("[[sources]]\nname = 'Mit Leerzeichen'\nstart_urls = ['https://a.de/']\n", "lower-case"),
    ("[[sources]]\nname = 'x'\n", "start_urls: needs at least one URL"),
    ("[[sources]]\nname = 'x'\nstart_urls = ['ftp://a.de/']\n", "'ftp://a.de/' is not an http\\(s\\) URL"),
    ("[[sources]]\nname = 'x'\nstart_urls = ['a.de/seite']\n", "is not an http\\(s\\) URL"),
    (
        "[[sources]]\nname = 'x'\nstart_urls = ['https://a.de/']\nallowed_hosts = ['b.de']\n",
        "the host of https://a.de/ is not in allowed_hosts",
    ),
    (
        "[[sources]]\nname = 'x'\nstart_urls = ['https://a.de/']\nallowed_hosts = ['https://a.de/']\n",
        "is not a host name",
    ),
    (
        "[[sources]]\nname = 'x'\nstart_urls = ['https://a.de/']\ninclude = ['(unclosed']\n",
        "sources\\[0\\] \\(x\\): include: '\\(unclosed' is not a valid regular expression",
    ),
    ("[[sources]]\nname = 'x'\nstart_urls = ['https://a.de/']\nmax_pages = 0\n", "max_pages: must be an integer >= 1"),
    ("[[sources]]\nname = 'x'\nstart_urls = ['https://a.de/']\nmax_depth = '2'\n", "max_depth: must be an integer"),
    ("[[sources]]\nname = 'x'\nstart_urls = ['https://a.de/']\nallow_private = 'yes'\n", "allow_private: must be true"),
    ("[[sources]]\nname = 'x'\nstart_urls = ['https://a.de/']\nmax_page = 3\n", "unknown key\\(s\\) max_page"),
    ("[crawler]\ndelay = 1\n[[sources]]\nname = 'x'\nstart_urls = ['https://a.de/']\n", "unknown key\\(s\\) delay"),
    ("[crawler]\nconcurrency = 0\n[[sources]]\nname = 'x'\nstart_urls = ['https://a.de/']\n", "must be >= 1"),
    (
        "[[sources]]\nname = 'x'\nstart_urls = ['https://a.de/']\n[[sources]]\nname = 'x'\nstart_urls = ['https://b.de/']\n",
        "duplicate source name\\(s\\) x",
    ),
    ("[[source]]\nname = 'x'\n", "unknown top-level key\\(s\\) source"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_files_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(CrawlError, match=message) as info:
        parse_sources(text, Path("quellen.toml"))
    assert str(info.value).startswith("quellen.toml")


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CrawlError, match="cannot read sources file"):
        load_sources(tmp_path / "fehlt.toml")
