"""The deployment files, checked by structure (no container engine runs here): docker-compose.yml
(pinned images, volumes, healthchecks, env wiring, the cluster profile with replication factor 2),
the Dockerfile, and the cluster init script against qdrant-client's local mode."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
QDRANT_IMAGE = re.compile(r"^qdrant/qdrant:v\d+\.\d+\.\d+$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def services(compose: dict[str, Any], profile: str | None) -> dict[str, dict[str, Any]]:
    return {
        n: s
        for n, s in compose["services"].items()
        if (profile in s.get("profiles", [])) or (profile is None and not s.get("profiles"))
    }


def test_default_stack_is_qdrant_and_api(compose: dict[str, Any]) -> None:
    assert set(services(compose, None)) == {"qdrant", "api"}


def test_qdrant_images_are_pinned(compose: dict[str, Any]) -> None:
    images = {s["image"] for s in compose["services"].values() if "qdrant/qdrant" in s.get("image", "")}
    assert images and all(QDRANT_IMAGE.match(i) for i in images), images
    assert len(images) == 1, "one Qdrant version everywhere"


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name == "cluster-init":
            continue
        check = service.get("healthcheck")
        assert check and check["test"][0] == "CMD", name
        assert {"interval", "timeout", "retries"} <= set(check), name
    qdrant_test = " ".join(compose["services"]["qdrant"]["healthcheck"]["test"])
    assert "/readyz" in qdrant_test and "6333" in qdrant_test
    assert "/readyz" in " ".join(compose["services"]["api"]["healthcheck"]["test"])


def test_state_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    named = set(compose["volumes"])
    mounts = {name: s.get("volumes", []) for name, s in compose["services"].items()}
    assert "qdrant_storage:/qdrant/storage" in mounts["qdrant"]
    assert any(m.endswith(":/data") for m in mounts["api"])
    for name, volumes in mounts.items():
        for mount in volumes:
            source = mount.split(":")[0]
            assert source in named, f"{name}: {mount} is not a named volume"
    for node in ("qdrant-node1", "qdrant-node2", "qdrant-node3"):
        assert any(m.endswith(":/qdrant/storage") for m in mounts[node]), node
    node_volumes = [mounts[n][0].split(":")[0] for n in ("qdrant-node1", "qdrant-node2", "qdrant-node3")]
    assert len(set(node_volumes)) == 3, "every node has its own storage"


def test_api_is_wired_to_qdrant(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    env = api["environment"]
    assert env["FOERDERSUCHE_QDRANT_URL"] == "http://qdrant:6333"
    assert env["FOERDERSUCHE_DATA_DIR"] == "/data"
    assert env["FOERDERSUCHE_ADMIN_KEY"] == "${FOERDERSUCHE_ADMIN_KEY:-}", "the key comes from the environment"
    assert api["depends_on"]["qdrant"]["condition"] == "service_healthy"
    assert api["build"] == "."
    assert any(str(p).startswith("127.0.0.1:") for p in api["ports"]), "published on localhost only"


def test_cluster_profile(compose: dict[str, Any]) -> None:
    cluster = services(compose, "cluster")
    assert {"qdrant-node1", "qdrant-node2", "qdrant-node3", "cluster-init", "api-cluster"} == set(cluster)
    first = cluster["qdrant-node1"]
    assert first["environment"]["QDRANT__CLUSTER__ENABLED"] == "true"
    assert first["environment"]["QDRANT__CLUSTER__P2P__PORT"] == "6335"
    assert first["command"] == ["./qdrant", "--uri", "http://qdrant-node1:6335"]
    for n in (2, 3):
        node = cluster[f"qdrant-node{n}"]
        assert node["environment"]["QDRANT__CLUSTER__ENABLED"] == "true"
        command = node["command"]
        assert command[command.index("--bootstrap") + 1] == "http://qdrant-node1:6335"
        assert command[command.index("--uri") + 1] == f"http://qdrant-node{n}:6335"
        assert node["depends_on"]["qdrant-node1"]["condition"] == "service_healthy"


def test_cluster_init_creates_a_replicated_collection(compose: dict[str, Any]) -> None:
    init = compose["services"]["cluster-init"]
    command = init["command"]
    assert command[:3] == ["python", "-m", "deploy.init_cluster"]
    assert command[command.index("--replication-factor") + 1] == "2"
    assert int(command[command.index("--shards") + 1]) >= 3
    assert command[command.index("--wait-nodes") + 1] == "3"
    assert init["environment"]["FOERDERSUCHE_QDRANT_URL"] == "http://qdrant-node1:6333"
    assert init["restart"] == "no"
    assert {f"qdrant-node{n}" for n in (1, 2, 3)} == set(init["depends_on"])
    api = compose["services"]["api-cluster"]
    assert api["environment"]["FOERDERSUCHE_QDRANT_URL"] == "http://qdrant-node1:6333"
    assert api["depends_on"]["cluster-init"]["condition"] == "service_completed_successfully"


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert text.startswith("#") and "\nFROM python:3.11-slim\n" in text
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in text
    assert text.index("torch==2.13.0") < text.index("pip install -e ."), "torch (CPU) before the project"
    assert "RUN foerdersuche model install" in text
    assert "FOERDERSUCHE_MODEL_DIR=/opt/foerdersuche/model" in text, "the model lives outside the data volume"
    assert 'CMD ["foerdersuche", "serve", "--host", "0.0.0.0", "--port", "8000"]' in text
    assert "\nUSER app\n" in text and "HEALTHCHECK" in text
    for folder in re.findall(r"^COPY (\w+) \./", text, re.M):
        assert (ROOT / folder).is_dir(), folder
    for package in ("core", "ingest", "search", "runtime", "api", "evaluation", "foerdersuche", "corpus", "deploy"):
        assert f"COPY {package} ./{package}" in text, package


@pytest.mark.filterwarnings("ignore:Payload indexes have no effect in the local Qdrant:UserWarning")  # local mode
def test_init_cluster_script_uses_the_project_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    from qdrant_client import QdrantClient

    from core.store.base import DENSE_VECTOR, SPARSE_VECTOR
    from deploy.init_cluster import init_collection, main

    client = QdrantClient(":memory:")
    assert "created" in init_collection(client, "passages", 16, 6, 2)
    assert "exists" in init_collection(client, "passages", 16, 6, 2), "idempotent"
    params = client.get_collection("passages").config.params
    assert params.vectors[DENSE_VECTOR].size == 16  # type: ignore[index]
    assert SPARSE_VECTOR in (params.sparse_vectors or {})
    client.close()
    monkeypatch.delenv("FOERDERSUCHE_QDRANT_URL", raising=False)
    assert main(["--dim", "16"]) == 2, "without FOERDERSUCHE_QDRANT_URL it refuses"
