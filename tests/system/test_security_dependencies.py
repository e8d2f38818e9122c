"""Every dependency is pinned to one version (what was measured and audited is what gets installed);
the audit itself is a documented step (docs/RELIABILITY.md, "Dependencies"), since it needs the
vulnerability databases online."""

from __future__ import annotations

import re
import tomllib

from core.settings import PROJECT_ROOT

PINNED = re.compile(r"^[A-Za-z0-9._\[\]-]+==[0-9][0-9A-Za-z.+!-]*$")


def test_every_dependency_is_pinned() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    loose = [r for r in requirements if not PINNED.match(r.split(";")[0].strip())]
    assert not loose, f"not pinned with ==: {loose}"


def test_the_audit_step_is_documented() -> None:
    text = (PROJECT_ROOT / "docs" / "RELIABILITY.md").read_text(encoding="utf-8")
    assert "pip-audit" in text
