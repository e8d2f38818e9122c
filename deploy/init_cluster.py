"""Create the passages collection on a Qdrant cluster: sharded, every shard replicated.

    python -m deploy.init_cluster --shards 6 --replication-factor 2 [--dim 384] [--wait-nodes 3]

Uses the project's own schema: the vectors are created here with the names and parameters of
``core.store`` (a cosine dense vector, a sparse vector with the IDF modifier); then
``RemoteStore.ensure_collection`` checks them and adds the payload indexes of ``core.store.schema``,
exactly as for a single server. Idempotent: an existing collection is checked, not recreated.
Connection settings come from the usual ``FOERDERSUCHE_*`` environment (``QDRANT_URL``,
``QDRANT_API_KEY``, ``COLLECTION``); ``--dim`` defaults to the configured model's dimension.
"""

from __future__ import annotations

import argparse
import sys
import time

from qdrant_client import QdrantClient, models

from core.errors import FoerdersucheError
from core.settings import Settings
from core.store.base import DENSE_VECTOR, SPARSE_VECTOR


def _model_dim(settings: Settings) -> int:
    from core.model.embedding import load_embedder

    return load_embedder(settings).dim


def _wait_for_peers(client: QdrantClient, want: int, timeout_s: float) -> int:
    """Wait until the cluster reports ``want`` peers (nodes join one after another)."""
    deadline = time.monotonic() + timeout_s
    peers = 0
    while time.monotonic() < deadline:
        try:
            peers = len(getattr(client.cluster_status(), "peers", None) or {})
        except Exception:
            peers = 0
        if peers >= want:
            return peers
        time.sleep(2)
    return peers


def init_collection(client: QdrantClient, name: str, dim: int, shards: int, replication_factor: int) -> str:
    """Create (or check) the collection and its payload indexes; returns what was done."""
    from core.store.remote import RemoteStore

    if client.collection_exists(name):
        done = f"collection {name!r} exists; checked it"
    else:
        client.create_collection(
            name,
            vectors_config={DENSE_VECTOR: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
            sparse_vectors_config={SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            shard_number=shards,
            replication_factor=replication_factor,
            write_consistency_factor=1,
        )
        done = f"created {name!r}: {shards} shards x {replication_factor} replicas, dim {dim}"
    RemoteStore(client, name).ensure_collection(dim)  # the project's schema check and payload indexes
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", type=int, default=6, help="shard_number of the collection (default 6)")
    parser.add_argument("--replication-factor", type=int, default=2, help="copies of every shard (default 2)")
    parser.add_argument("--dim", type=int, default=None, help="dense dimension (default: the model's)")
    parser.add_argument("--wait-nodes", type=int, default=0, help="wait until this many nodes joined")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the nodes")
    args = parser.parse_args(argv)

    settings = Settings()
    if not settings.qdrant_url:
        print("FOERDERSUCHE_QDRANT_URL is not set", file=sys.stderr)
        return 2
    try:
        dim = args.dim or _model_dim(settings)
        client = QdrantClient(
            url=settings.qdrant_url, api_key=settings.qdrant_api_key, timeout=30, check_compatibility=False
        )
        if args.wait_nodes:
            peers = _wait_for_peers(client, args.wait_nodes, args.timeout)
            if peers < args.wait_nodes:
                print(f"only {peers} of {args.wait_nodes} nodes joined within {args.timeout:.0f} s", file=sys.stderr)
                return 1
        print(init_collection(client, settings.collection, dim, args.shards, args.replication_factor))
        params = client.get_collection(settings.collection).config.params
        print(f"ready: shard_number={params.shard_number} replication_factor={params.replication_factor}")
        client.close()
    except FoerdersucheError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
