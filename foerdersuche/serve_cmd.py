"""``foerdersuche serve``: the API and the web page with uvicorn (one process; see ``api.app``)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Any

import typer

from foerdersuche.server_link import remove_record, write_record


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[
            str | None,
            typer.Option(
                "--host", help="Address to bind (default 127.0.0.1; env FOERDERSUCHE_HOST).", show_default=False
            ),
        ] = None,
        port: Annotated[
            int | None,
            typer.Option(
                "--port", help="Port (default 8000; env FOERDERSUCHE_PORT).", min=1, max=65535, show_default=False
            ),
        ] = None,
    ) -> None:
        """Run the search API and the web page (http://127.0.0.1:8000/, API docs at /docs)."""
        import copy

        import uvicorn
        from uvicorn.config import LOGGING_CONFIG

        from api.app import create_app
        from core.settings import Settings

        # the global --data-dir from the click context (not foerdersuche.cli's module state: under
        # `python -m foerdersuche.cli` that module is __main__, and importing it here made a second,
        # empty copy, so `serve` silently served the default data dir)
        data_dir = ctx.find_root().params.get("data_dir")
        s = Settings(data_dir=data_dir) if data_dir is not None else Settings()
        bind_host = host or s.host
        bind_port = port or s.port
        # one worker: the embedded index allows one opener per process, and admin jobs use the app's store
        log_config = copy.deepcopy(LOGGING_CONFIG)  # the app's own loggers print like uvicorn's
        for name in ("api", "core", "ingest", "search"):
            log_config["loggers"][name] = {"handlers": ["default"], "level": "INFO", "propagate": False}
        from foerdersuche.remote import router as cli_router

        app = create_app(s, freeze_gc=True)
        app.include_router(cli_router)  # the CLI of the same data dir goes through these (loopback only)
        config = uvicorn.Config(app, host=bind_host, port=bind_port, log_level="info", log_config=log_config, workers=1)
        run_recording(config, s.data_dir)


def run_recording(config: Any, data_dir: Path) -> None:
    """Run uvicorn's server with ``config``; once its socket listens and the app has started it writes
    the server record (``foerdersuche.server_link``), and removes it when it stops, so the CLI of the
    same data dir goes through this server instead of failing on the locked index."""
    import uvicorn

    class RecordingServer(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and self.servers:
                bound = self.servers[0].sockets[0].getsockname()  # the real port, also for --port 0
                write_record(data_dir, self.config.host, int(bound[1]))

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            remove_record(data_dir)
            await super().shutdown(sockets=sockets)

    RecordingServer(config).run()
