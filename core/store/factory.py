"""``open_store(settings)``: the embedded shard by default, a Qdrant server when a URL is set."""

from __future__ import annotations

from core.settings import Settings
from core.store.base import Store


def open_store(settings: Settings) -> Store:
    """Qdrant Edge in ``settings.index_dir`` when ``qdrant_url`` is unset, else the server at that URL.

    Each adapter is imported only when chosen, so the embedded default never loads qdrant-client.
    """
    if settings.qdrant_url:
        from core.store.remote import RemoteStore

        return RemoteStore.open(settings)
    from core.store.edge import EdgeStore

    return EdgeStore.open(settings)
