"""Prints the README configuration table from the Settings fields (keep the README in sync)."""

from core.settings import Settings


def main() -> None:
    print("| variable | default | meaning |")
    print("|---|---|---|")
    for name, field in Settings.model_fields.items():
        default = "(computed)" if field.default_factory else repr(field.default) if field.default is not None else "unset"
        if name == "data_dir":
            default = "`./data` in a checkout, else `~/.local/share/foerdersuche`"
        elif default not in ("unset", "(computed)"):
            default = f"`{field.default}`"
        print(f"| `FOERDERSUCHE_{name.upper()}` | {default} | {field.description} |")


if __name__ == "__main__":
    main()
