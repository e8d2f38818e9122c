"""Where a query's time goes: the Searcher and the ``/search`` handler over an index (a report, not a test).

    python -m foerdersuche.query_profile --data-dir DIR [--queries 136] [--top 40]

Opens the index in ``DIR`` as the API does (``api.state.AppState``: store, serving embedder, gazetteer,
register), query cache off, and runs the domain collection's queries, hybrid, k 10, the default
settings: after one untimed pass, p50/p95 of the query embedding alone, of ``Searcher.search`` and of
the API's handler in-process (``search_view.search_response`` and its JSON), the steps of the direct
answer for the queries that are questions (``answer_stages``), then the same handler under cProfile with
the functions that take the most cumulative time. Python code runs about 2x slower
under the profiler, so its table gives shares, the first lines the times. A kept benchmark index
(``foerdersuche bench --passages 100000 --keep-index``, in ``<data_dir>/bench/index-100000``) is the
usual ``DIR``; the findings at 100k are in evaluation/reports/serving.md. It lives beside the entry
points because it drives the API's handler in-process (``evaluation`` may not import ``api``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api import search_view
from api.schemas import SearchParams
from api.state import AppState
from core.settings import Settings
from evaluation.bench.queries import percentiles
from evaluation.quality.collection import load_domain
from search import answer
from search.engine import SearchRequest


def timed(call: Callable[[str], object], texts: list[str]) -> dict[str, float]:
    samples = []
    for text in texts:
        started = time.perf_counter()
        call(text)
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


STEPS = ("search", "question", "second search", "text around", "candidates", "scores")


def answer_stages(state: AppState, questions: list[str], rounds: int) -> dict[str, dict[str, float]]:
    """p50/p95 of each step ``GET /search`` takes for a question it answers directly: the search, reading
    the question (with the register), the second search, the text around the passages, the candidates and
    their scores (``search.answer``, as ``answer_search`` runs them)."""
    searcher, gazetteer, register = state.require_searcher(), state.require_gazetteer(), state.register()
    options = answer.AnswerOptions()
    samples: dict[str, list[float]] = {step: [] for step in STEPS}
    for _ in range(rounds):
        for text in questions:
            params = SearchParams(q=text, mode="hybrid")
            times = [time.perf_counter()]
            found = search_view.retrieve(state, params)
            times.append(time.perf_counter())
            question = answer.understand_question(text, gazetteer, register)
            times.append(time.perf_counter())
            hits = answer.answer_hits(searcher, found.result.request, found.result.hits, options)
            times.append(time.perf_counter())
            context = answer.read_context(searcher.store, hits)
            times.append(time.perf_counter())
            found_values = answer.candidates(question, hits, gazetteer, register, options.read, context)
            times.append(time.perf_counter())
            answer.score(question, found_values, hits, options)
            times.append(time.perf_counter())
            for step, (a, b) in zip(STEPS, itertools.pairwise(times), strict=True):
                samples[step].append((b - a) * 1000)
    return {step: percentiles(values) for step, values in samples.items() if values}


def run(data_dir: Path, model_dir: Path | None, n: int, top: int) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, model_dir=model_dir, qdrant_url=None, query_cache_size=0)
    state = AppState(settings)
    state.open()
    if state.problems:
        raise SystemExit(f"cannot open {data_dir}: {state.problems}")
    try:
        searcher = state.require_searcher()
        options = state.search_options("hybrid")
        domain = [q.text for q in load_domain().queries]
        texts = [domain[i % len(domain)] for i in range(n)]

        def embed(text: str) -> object:
            return searcher.embedder.embed_queries([text])

        def search(text: str) -> object:
            return searcher.search(SearchRequest(query=text, k=10, options=options))

        def handler(text: str) -> object:
            return search_view.search_response(state, SearchParams(q=text, mode="hybrid")).model_dump_json()

        while state.require_store().summaries_held() is None:  # the candidates' fields, as a started server
            time.sleep(0.2)
        for text in domain:  # one untimed pass: page cache, register, lazy loads
            handler(text)
        gazetteer = state.require_gazetteer()
        questions = [t for t in domain if answer.understand_question(t, gazetteer).asked is not None]
        result: dict[str, Any] = {
            "passages": state.require_store().count(),
            "queries": n,
            "query_embedding_ms": timed(embed, texts),
            "searcher_ms": timed(search, texts),
            "handler_ms": timed(handler, texts),
            "questions": len(questions),
            "answer_steps_ms": answer_stages(state, questions, max(1, n // len(domain))),
        }
        profile = cProfile.Profile()
        profile.enable()
        for text in texts:
            handler(text)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(top)
        result["profile"] = out.getvalue()
        return result
    finally:
        state.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--queries", type=int, default=136)
    parser.add_argument("--top", type=int, default=40, help="Functions listed from the profile.")
    args = parser.parse_args(argv)
    result = run(args.data_dir, args.model_dir, args.queries, args.top)
    profile = result.pop("profile")
    print(json.dumps(result, indent=1))
    print(profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
