"""The CLI beside a running ``foerdersuche serve`` of the same data dir: a real server process, the real
CLI in subprocesses. Read commands print exactly what they print without the server; ingest goes
through an admin job with the admin key and is refused with a hint without it; reindex is refused; a
stale server record (killed server, a pid that is no server of ours) is ignored."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from serverproc import CLI, ROOT, cli_env, free_port, running_server

from core.model.embedding import Embedder
from core.settings import PROJECT_ROOT, Settings
from foerdersuche.server_link import RECORD_FILE, live_server, read_record, write_record

SAMPLE = PROJECT_ROOT / "corpus" / "sample"
ADMIN_KEY = "cli-neben-dem-server-0123456789"
READS = (
    ("search", "Kreislaufwirtschaft Kreis Unna", "--json", "-k", "5"),
    ("search", "Kreislaufwirtschaft Kreis Unna", "-k", "3", "--group", "--facets"),
    ("search", "Wasserstoff", "--json", "--facets", "--place", "Kreis Unna"),
    ("search", "Förderbescheid Lünen", "-k", "2"),
    ("ask", "Wie viel Geld erhält das Projekt in Lünen?", "-k", "3"),
    ("ask", "Wie viel Geld erhält das Projekt in Lünen?", "--json", "-k", "2"),
    ("status", "--json"),
    ("status",),
)


def _cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "--data-dir", str(data_dir), *args],
        cwd=ROOT,
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Path:
    from ingest.discovery import discover
    from runtime import open_runtime

    root = tmp_path_factory.mktemp("cli-server") / "data"
    items, _ = discover([SAMPLE])
    with open_runtime(Settings(data_dir=root, model_dir=Settings().model_path), embedder=real_embedder) as rt:
        rt.indexer.ingest([i for i in items if "kreis-unna" in i.source or "luenen" in i.source][:6])
    return root


@pytest.mark.slow
def test_read_commands_print_the_same_through_the_server(data_dir: Path) -> None:
    env = {"FOERDERSUCHE_MODEL_DIR": str(Settings().model_path)}
    alone = {args: _cli(data_dir, *args, env=env) for args in READS}
    for args, proc in alone.items():
        assert proc.returncode == 0, (args, proc.stderr)
    assert json.loads(alone[READS[0]].stdout), "the index answers the query"
    with running_server(data_dir, env=env) as server:
        record = read_record(data_dir)
        assert record is not None and (record.pid, record.port) == (server.pid, server.port)
        assert record.data_dir == str(data_dir.resolve())
        link = live_server(data_dir)
        assert link is not None
        link.close()
        beside = {args: _cli(data_dir, *args, env=env) for args in READS}
    for args in READS:
        assert beside[args].returncode == 0, (args, beside[args].stderr)
        assert beside[args].stdout == alone[args].stdout, args
    assert not (data_dir / RECORD_FILE).exists(), "a server that stops removes its record"


@pytest.mark.slow
def test_ingest_and_reindex_beside_the_server(data_dir: Path) -> None:
    env = {"FOERDERSUCHE_MODEL_DIR": str(Settings().model_path), "FOERDERSUCHE_ADMIN_KEY": ADMIN_KEY}
    target = SAMPLE / "pm-ecotechub-workshop-bericht-bergkamen.html"
    with running_server(data_dir, env=env):
        refused = _cli(data_dir, "ingest", str(target), env={**env, "FOERDERSUCHE_ADMIN_KEY": ""})
        assert refused.returncode == 1
        assert "FOERDERSUCHE_ADMIN_KEY" in refused.stderr and "foerdersuche serve (pid" in refused.stderr

        before = json.loads(_cli(data_dir, "status", "--json", env=env).stdout)["documents"]
        done = _cli(data_dir, "ingest", str(target), "--json", env=env)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert [f["status"] for f in report["files"]] == ["indexed"] and report["passages_written"] > 0
        after = json.loads(_cli(data_dir, "status", "--json", env=env).stdout)["documents"]
        assert after == before + 1
        found = json.loads(_cli(data_dir, "search", "EcoTecHub Workshop Bergkamen", "--json", env=env).stdout)
        assert target.name in {Path(h["source"]).name for h in found}

        again = _cli(data_dir, "ingest", str(target), env=env)  # the text report, through the job
        assert again.returncode == 0, again.stderr
        assert again.stdout.startswith("1 Dateien in ") and "1 unchanged" in again.stdout

        reindex = _cli(data_dir, "reindex", env=env)
        assert reindex.returncode == 1 and "beenden Sie den Server" in reindex.stderr


@pytest.mark.slow
def test_a_killed_server_leaves_a_stale_record_that_is_ignored(data_dir: Path) -> None:
    env = {"FOERDERSUCHE_MODEL_DIR": str(Settings().model_path)}
    with running_server(data_dir, env=env) as server:
        os.kill(server.pid, signal.SIGKILL)
        server.proc.wait(timeout=30)
        assert read_record(data_dir) is not None, "kill -9 leaves the record behind"
        time.sleep(0.5)  # the kernel releases the dead server's files
        proc = _cli(data_dir, "search", "Kreislaufwirtschaft", "--json", "-k", "2", env=env)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)) == 2
    assert read_record(data_dir) is None, "a record whose pid is gone is removed"


def test_a_record_of_a_live_pid_that_is_no_server_is_ignored(tmp_path: Path) -> None:
    """The pid lives (this test) but nothing of ours listens on the port: no link, the record stays."""
    write_record(tmp_path, "127.0.0.1", free_port(), pid=os.getpid())
    assert live_server(tmp_path) is None
    assert read_record(tmp_path) is not None
    write_record(tmp_path, "127.0.0.1", free_port(), pid=2**22 + 12345)  # no such pid
    assert live_server(tmp_path) is None
    assert read_record(tmp_path) is None
