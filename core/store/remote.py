"""``RemoteStore``: the index on a Qdrant server or cluster, through qdrant-client.

The collection has the same schema as the embedded shard (``core.store.edge``): a named dense vector
(cosine), a sparse vector with the IDF modifier and the payload indexes of ``core.store.schema``.
``RemoteStore(QdrantClient(":memory:"), ...)`` runs qdrant-client's local mode, which speaks the
server's API in-process; the contract tests use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ApiException, ResponseHandlingException, UnexpectedResponse

from core.errors import QueryError, StoreError, StoreUnavailable
from core.ids import point_id_for
from core.models import DocInfo, Passage
from core.settings import Settings
from core.store import schema
from core.store.base import (
    DENSE_VECTOR,
    RRF_K,
    SPARSE_VECTOR,
    IndexPoint,
    SearchFilter,
    SparseVec,
    StoredHit,
    StoreQuery,
)

T = TypeVar("T")

_SCROLL_PAGE = 1024
# The dense vectors as the Edge store keeps them (core/store/edge.py ``DENSE_QUANTIZATION``): int8
# copies in memory for the graph, the originals on disk, every dense query rescored on the originals.
DENSE_QUANTIZATION = models.ScalarQuantization(
    scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.99, always_ram=True)
)
_DENSE_SEARCH = models.SearchParams(quantization=models.QuantizationSearchParams(rescore=True))
_EXACT_SEARCH = models.SearchParams(exact=True, quantization=models.QuantizationSearchParams(ignore=True))
# The fields with graph links of their own (``schema.LINKED_FIELDS``); a server matches places on
# ``place_keys`` (every level), so that field is linked here.
LINKED_FIELDS = frozenset((*schema.LINKED_FIELDS, "place_keys"))
_TIMEOUT_S = 10


class RemoteStore:
    """The ``Store`` over one collection of a Qdrant server (or qdrant-client's local mode)."""

    def __init__(self, client: QdrantClient, collection: str, *, location: str = ":memory:") -> None:
        self._client = client
        self.collection = collection
        self.location = location
        self._exists = False

    @classmethod
    def connect(cls, url: str, api_key: str | None, collection: str, timeout: int = _TIMEOUT_S) -> RemoteStore:
        """Connect to a server and check that it answers; raises ``StoreUnavailable`` if it does not.

        qdrant-client's own version check is off: it only warns, and a server that does not answer
        is reported here as an error instead.
        """
        location = _redact(url)
        client = QdrantClient(url=url, api_key=api_key, timeout=timeout, check_compatibility=False)
        store = cls(client, collection, location=location)
        store._call("connect", client.get_collections)
        return store

    @classmethod
    def open(cls, settings: Settings) -> RemoteStore:
        if not settings.qdrant_url:
            raise StoreError("RemoteStore needs a Qdrant URL (FOERDERSUCHE_QDRANT_URL).")
        return cls.connect(settings.qdrant_url, settings.qdrant_api_key, settings.collection)

    # --- lifecycle

    def ensure_collection(self, dense_dim: int) -> None:
        client, name = self._client, self.collection
        if not self._call("look up the collection", lambda: client.collection_exists(name)):
            self._call(
                "create the collection",
                lambda: client.create_collection(
                    name,
                    vectors_config={
                        DENSE_VECTOR: models.VectorParams(
                            size=dense_dim,
                            distance=models.Distance.COSINE,
                            on_disk=True,
                            quantization_config=DENSE_QUANTIZATION,
                        )
                    },
                    sparse_vectors_config={SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                    hnsw_config=models.HnswConfigDiff(m=schema.HNSW_M),
                ),
            )
        info = self._call("read the collection", lambda: client.get_collection(name))
        self._check_schema(info, dense_dim)
        existing = set(info.payload_schema or {})
        for field_name in schema.KEYWORD_FIELDS:
            if field_name not in existing:
                linked = field_name in LINKED_FIELDS
                self._create_index(
                    field_name, models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, enable_hnsw=linked)
                )
        for field_name in schema.INTEGER_FIELDS:
            if field_name not in existing:
                linked = field_name in LINKED_FIELDS
                params = models.IntegerIndexParams(
                    type=models.IntegerIndexType.INTEGER, lookup=True, range=True, enable_hnsw=linked
                )
                self._create_index(field_name, params)
        self._exists = True

    def _check_schema(self, info: models.CollectionInfo, dense_dim: int) -> None:
        vectors = info.config.params.vectors
        dense = vectors.get(DENSE_VECTOR) if isinstance(vectors, dict) else None
        sparse = (info.config.params.sparse_vectors or {}).get(SPARSE_VECTOR)
        where = f"collection {self.collection!r} at {self.location}"
        if dense is None or sparse is None:
            raise StoreError(
                f"The {where} lacks the vectors {DENSE_VECTOR!r} and {SPARSE_VECTOR!r}: not a foerdersuche index."
            )
        if dense.size != dense_dim:
            raise StoreError(
                f"The {where} holds {dense.size}-dimensional vectors, the embedding model makes {dense_dim}. "
                "Rebuild it with `foerdersuche reindex`."
            )
        if sparse.modifier != models.Modifier.IDF:
            raise StoreError(
                f"The {where} has no IDF modifier on {SPARSE_VECTOR!r}. Rebuild it with `foerdersuche reindex`."
            )

    def _create_index(
        self, field_name: str, field_schema: models.KeywordIndexParams | models.IntegerIndexParams
    ) -> None:
        client, name = self._client, self.collection
        self._call(
            f"index payload field {field_name}",
            lambda: client.create_payload_index(name, field_name, field_schema=field_schema),
        )

    def optimize(self) -> None:
        """Nothing to do: a server runs its optimizers in the background."""

    def build_aside(self, swap: Callable[[], AbstractContextManager[object]]) -> None:
        """Nothing to do: the server builds in its own process while it answers queries."""

    def keep_summaries(self, limit: int, *, background: bool = False) -> int:
        """Not kept: other processes may write the server's collection, so a copy here could go stale."""
        return 0

    def summaries_held(self) -> int | None:
        return 0

    def close(self) -> None:
        self._call("close the connection", self._client.close)

    # --- writes

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        if not points:
            return
        structs = [
            models.PointStruct(
                id=point_id_for(p.passage.passage_id),
                vector={DENSE_VECTOR: list(p.dense), SPARSE_VECTOR: _sparse(p.sparse)},
                payload=schema.to_payload(p.passage, p.doc),
            )
            for p in points
        ]
        client, name = self._client, self.collection
        self._call(f"write {len(points)} points", lambda: client.upsert(name, points=structs, wait=True))

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        if not doc_ids or not self._has_collection():
            return
        client, name = self._client, self.collection
        selector = models.FilterSelector(filter=_doc_filter(doc_ids))
        self._call(f"delete {len(doc_ids)} documents", lambda: client.delete(name, points_selector=selector, wait=True))

    def set_payload(self, doc_id: str, values: dict[str, object]) -> None:
        if not values:
            return
        client, name = self._client, self.collection
        self._call(
            f"update document {doc_id}",
            lambda: client.set_payload(name, payload=dict(values), points=_doc_filter([doc_id]), wait=True),
        )

    # --- reads

    def query_batch(self, queries: Sequence[StoreQuery]) -> list[list[StoredHit]]:
        if not queries:
            return []
        requests = [_query_request(q) for q in queries]
        if not self._has_collection():
            return [[] for _ in queries]
        client, name = self._client, self.collection
        responses = self._call(
            f"run {len(queries)} queries", lambda: client.query_batch_points(name, requests=requests)
        )
        return [[_hit(p.id, p.score, p.payload) for p in response.points] for response in responses]

    def fetch(self, point_ids: Sequence[str]) -> dict[str, tuple[Passage, DocInfo]]:
        if not point_ids or not self._has_collection():
            return {}
        client, name = self._client, self.collection
        records = self._call(
            f"read {len(point_ids)} points",
            lambda: client.retrieve(name, ids=list(point_ids), with_payload=True, with_vectors=False),
        )
        return {str(r.id): schema.from_payload(r.payload or {}) for r in records}

    def count(self, filter: SearchFilter | None = None) -> int:
        flt = _filter(filter)
        if not self._has_collection():
            return 0
        client, name = self._client, self.collection
        return self._call("count points", lambda: client.count(name, count_filter=flt, exact=True).count)

    def facet(self, key: str, filter: SearchFilter | None = None, limit: int = 50) -> list[tuple[str, int]]:
        if key not in schema.FACET_FIELDS:
            raise QueryError(f"cannot count values of {key!r}: facets exist for {', '.join(schema.FACET_FIELDS)}")
        flt = _filter(filter)
        if not self._has_collection():
            return []
        client, name = self._client, self.collection
        response = self._call(
            f"count values of {key}", lambda: client.facet(name, key, facet_filter=flt, limit=limit, exact=True)
        )
        return sorted(((str(h.value), h.count) for h in response.hits), key=lambda vc: (-vc[1], vc[0]))

    def passages_of(self, doc_id: str) -> list[tuple[Passage, DocInfo]]:
        found = [(p, d) for _, p, d in self._scroll(_doc_filter([doc_id]), _SCROLL_PAGE)]
        return sorted(found, key=lambda pd: pd[0].ordinal)

    def iter_points(self, batch: int = 512) -> Iterator[tuple[str, Passage, DocInfo]]:
        return self._scroll(None, batch)

    def verify(self) -> int:
        """Read every point with payload and vectors (the server keeps its own storage sound; a payload
        that is not a foerdersuche passage is reported as a ``StoreError``)."""
        if not self._has_collection():
            return 0
        client, name = self._client, self.collection
        seen = 0
        offset: Any = None
        while True:
            read = partial(client.scroll, name, limit=_SCROLL_PAGE, offset=offset, with_payload=True, with_vectors=True)
            records, offset = self._call("read points", read)
            for record in records:
                try:
                    schema.from_payload(record.payload or {})
                except (KeyError, ValueError, TypeError) as err:
                    raise StoreError(
                        f"Point {record.id} in collection {self.collection!r} at {self.location} is not a "
                        f"foerdersuche passage ({type(err).__name__}: {err})."
                    ) from err
                seen += 1
            if offset is None:
                return seen

    def _scroll(self, flt: models.Filter | None, page: int) -> Iterator[tuple[str, Passage, DocInfo]]:
        if not self._has_collection():
            return
        client, name = self._client, self.collection
        offset: Any = None
        while True:
            read = partial(
                client.scroll, name, scroll_filter=flt, limit=page, offset=offset, with_payload=True, with_vectors=False
            )
            records, offset = self._call("read points", read)
            for record in records:
                passage, doc = schema.from_payload(record.payload or {})
                yield str(record.id), passage, doc
            if offset is None:
                return

    # --- helpers

    def _has_collection(self) -> bool:
        """Reads of a collection nobody created yet see an empty index; checked until it exists."""
        if not self._exists:
            client, name = self._client, self.collection
            self._exists = self._call("look up the collection", lambda: client.collection_exists(name))
        return self._exists

    def _call(self, action: str, call: Callable[[], T]) -> T:
        """Run one client call; connection failures become ``StoreUnavailable``, the rest ``StoreError``."""
        where = f"Qdrant at {self.location}"
        try:
            return call()
        except (ResponseHandlingException, httpx.TransportError, ConnectionError) as err:
            raise StoreUnavailable(
                f"{where} does not answer (could not {action}: {_reason(err)}). Start the server, fix "
                "FOERDERSUCHE_QDRANT_URL, or unset it to use the embedded index."
            ) from err
        except UnexpectedResponse as err:
            if err.status_code in (401, 403):
                raise StoreError(
                    f"{where} rejected the API key (could not {action}); check FOERDERSUCHE_QDRANT_API_KEY."
                ) from err
            body = err.content.decode("utf-8", "replace")[:300]
            raise StoreError(f"{where} could not {action}: HTTP {err.status_code} {body}") from err
        except (ApiException, ValueError, KeyError) as err:
            # Local mode raises ValueError/KeyError (e.g. wrong dimension, missing collection).
            raise StoreError(f"{where} could not {action}: {err}") from err


def _redact(url: str) -> str:
    """The URL without user info, for messages (an API key never appears in the URL we print)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _reason(err: BaseException) -> str:
    source = getattr(err, "source", None)
    return str(source or err) or type(err).__name__


def _sparse(vec: SparseVec) -> models.SparseVector:
    return models.SparseVector(indices=list(vec.indices), values=list(vec.values))


def _doc_filter(doc_ids: Sequence[str]) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchAny(any=list(doc_ids)))])


def _filter(search_filter: SearchFilter | None) -> models.Filter | None:
    if search_filter is None or search_filter.is_empty():
        return None
    conditions: list[models.Condition] = [
        models.FieldCondition(key=key, match=models.MatchAny(any=values))
        for key, values in schema.filter_terms(search_filter)
    ]
    low, high = schema.filter_date_range(search_filter)
    if low is not None or high is not None:
        conditions.append(models.FieldCondition(key="date_int", range=models.Range(gte=low, lte=high)))
    return models.Filter(must=conditions)


def _query_request(query: StoreQuery) -> models.QueryRequest:
    flt = _filter(query.filter)
    payload: Any = (
        models.PayloadSelectorInclude(include=list(schema.SUMMARY_FIELDS)) if query.payload == "summary" else True
    )
    nearest: list[tuple[str, Any, models.SearchParams | None]] = []
    if query.dense is not None:
        nearest.append((DENSE_VECTOR, list(query.dense), _EXACT_SEARCH if query.exact else _DENSE_SEARCH))
    if query.sparse is not None:
        nearest.append((SPARSE_VECTOR, _sparse(query.sparse), models.SearchParams(exact=True) if query.exact else None))
    if not nearest:
        raise QueryError("a store query needs a dense or a sparse vector (or both)")
    if len(nearest) == 1:
        using, vector, params = nearest[0]
        return models.QueryRequest(
            query=models.NearestQuery(nearest=vector),
            using=using,
            filter=flt,
            params=params,
            limit=query.limit,
            with_payload=payload,
        )
    prefetch = [
        models.Prefetch(
            query=models.NearestQuery(nearest=vector),
            using=using,
            filter=flt,
            params=params,
            limit=query.prefetch_limit,
        )
        for using, vector, params in nearest
    ]
    fusion: models.Query = (
        models.RrfQuery(rrf=models.Rrf(k=RRF_K))
        if query.fusion == "rrf"
        else models.FusionQuery(fusion=models.Fusion.DBSF)
    )
    return models.QueryRequest(prefetch=prefetch, query=fusion, filter=flt, limit=query.limit, with_payload=payload)


def _hit(point_id: object, score: float, payload: dict[str, Any] | None) -> StoredHit:
    passage, doc = schema.from_payload(payload or {})
    return StoredHit(point_id=str(point_id), score=float(score), passage=passage, doc=doc)
