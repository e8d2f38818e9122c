"""What every command of the CLI shares: the settings of this invocation (the global ``--data-dir``),
the two consoles and the one way to fail. The command modules import from here, never from ``cli``,
so no command module and the CLI import each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import typer
from rich.console import Console
from rich.markup import escape

from core.settings import Settings

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


class _State:
    settings_overrides: ClassVar[dict[str, Any]] = {}


def set_data_dir(data_dir: Path | None) -> None:
    """The global ``--data-dir`` of this invocation (None: the environment or the default)."""
    _State.settings_overrides = {"data_dir": data_dir} if data_dir is not None else {}


def settings() -> Settings:
    return Settings(**_State.settings_overrides)


def fail(exc: Exception | str, code: int = 1) -> typer.Exit:
    """Print a German error line to stderr; the caller raises the returned ``typer.Exit``."""
    err.print(f"[red]Fehler:[/red] {escape(str(exc))}")
    return typer.Exit(code)
