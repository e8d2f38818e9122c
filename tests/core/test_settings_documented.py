"""Every setting is documented: the README's configuration table names each field's environment
variable and its default, and each field carries a description."""

import re
from pathlib import Path

from core.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_has_a_description() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no description"


def test_every_setting_is_in_the_readme_table() -> None:
    text = README.read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(FOERDERSUCHE_[A-Z_]+)` \|.*$", text, re.M)}
    for name in Settings.model_fields:
        env = f"FOERDERSUCHE_{name.upper()}"
        assert env in rows, f"{env} missing from the README configuration table"
    documented = {env.removeprefix("FOERDERSUCHE_").lower() for env in rows}
    assert documented <= set(Settings.model_fields), (
        f"README documents unknown settings: {documented - set(Settings.model_fields)}"
    )
