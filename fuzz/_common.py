"""What every harness shares: the rule that decides what counts as a crash.

A parser may reject any input, but only with ``ParseError`` (it becomes a status and a reason in the
ingest report). Every other exception escaping ``parse_bytes`` or a parser is a crash: it would turn
into "parser crashed: ..." in the isolated worker, and abort an in-process ingest. The harness lets it
propagate, so libFuzzer records the input under ``crashes/`` and stops.
"""

from __future__ import annotations

import sys

import atheris


def run(test_one_input: object) -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
