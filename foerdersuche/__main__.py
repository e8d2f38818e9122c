"""``python -m foerdersuche`` is the ``foerdersuche`` command (for a checkout without the console script)."""

from foerdersuche.cli import main

main()
