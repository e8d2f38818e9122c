"""The crawler: sources file -> frontier -> polite, guarded fetches -> the Indexer.

One module per concept:

    sources.py    the sources file (TOML) -> ``Source`` values, with clear errors
    urls.py       URL canonicalisation and the per-source scope (hosts, include / exclude)
    links.py      links and robots meta tags of a fetched HTML page
    netguard.py   the SSRF guard: an httpx transport that checks every resolved address
    robots.py     robots.txt (protego): allowed paths, crawl-delay, sitemap lines
    sitemaps.py   sitemap.xml and sitemap index files
    politeness.py per-host delay and concurrency
    sniff.py      what the bytes are (HTML, PDF, text), whatever the header says
    fetch.py      one URL over HTTP: redirects, retries, size cap, conditional requests
    frontier.py   crawl state in SQLite (resumable)
    report.py     the crawl report
    crawler.py    the orchestration that hands fetched bytes to the Indexer
    status.py     per-source status for ``foerdersuche status``
"""
