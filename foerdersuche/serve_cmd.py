"""``foerdersuche serve``: the API and the web page with uvicorn (one process; see ``api.app``)."""

from __future__ import annotations

from typing import Annotated

import typer


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
        uvicorn.run(create_app(s), host=bind_host, port=bind_port, log_level="info", log_config=log_config, workers=1)
