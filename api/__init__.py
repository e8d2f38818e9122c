"""HTTP API and German web page over the search (and admin endpoints that start ingest and crawls).

app.py          create_app(settings): lifespan, middleware, routers; nothing built at import
state.py        what a running app holds (store, model, gazetteer, searcher, jobs) and readiness
deps.py         dependency aliases (StateDep, SearchParamsDep, AdminDep with the X-API-Key check)
schemas.py      request and response models, limits, the one error body
errors.py       the one mapping from exceptions to error answers, the catch-all 500
middleware.py   request body limit, request metrics
metrics.py      Prometheus registry per app
routes.py       the JSON endpoints (thin)
search_view.py  search -> grouped, cited, highlighted answer; facets; export rows
documents.py    documents, stored originals, per-source counts
export.py       CSV and JSON exports
admin.py        ingest path confinement, ingest and crawl jobs
jobs.py         background job threads, one writer at a time
web.py          the server-rendered pages (templates/, static/)
"""
