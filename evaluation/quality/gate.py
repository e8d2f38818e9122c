"""The quality gate: pinned minimum scores plus the hashes of what they were measured on.

``evaluation/gate.toml`` holds, per retrieval variant, floors for nDCG@10 and Recall@20 on the domain
collection (passage and document level) and for the default hybrid on a fixed subset of XQuAD-de
(every ``XQUAD_EVERY``-th question), together with the sha256 of the corpus (``corpus/sample``), of the
domain collection files and of XQuAD-de, and the settings that shape the scores. ``tests/evaluation/test_gate.py``
measures again and fails

- when a score falls more than ``margin`` (0.01) below its floor, and
- with a message saying what to do when a hash or a pinned setting differs: the floors were measured
  on other data and must be re-pinned (after reviewing the judgments).

Floors are kept per dense backend that actually runs (``[floors."torch-bf16"]``,
``[floors."torch-int8"]``): the default ``auto`` runs bf16 on CPUs with native bfloat16 and int8
elsewhere, and the two score differently (by up to 0.012 nDCG@10 on the domain collection), so each is
compared with its own floors. ``foerdersuche eval --pin`` rewrites the table of the backend it ran
(``FOERDERSUCHE_EMBED_BACKEND=torch-int8 foerdersuche eval --pin`` pins the other one) and keeps the
other tables only while the fingerprint is unchanged.

Raising (or re-basing) the floors is an explicit step: ``foerdersuche eval --pin`` measures and
rewrites the file; the diff of ``gate.toml`` shows every floor that moved.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.model.embedding import Embedder
from core.settings import PROJECT_ROOT, Settings
from evaluation.quality import xquad
from evaluation.quality.collection import corpus_sha256, files_sha256, load_domain
from evaluation.quality.measures import NDCG10, RECALL20
from evaluation.quality.runner import Variant, default_variant_name, standard_variants
from evaluation.quality.suite import EvalRequest, git_commit, run_domain, run_xquad

GATE_FILE = PROJECT_ROOT / "evaluation" / "gate.toml"
MARGIN = 0.01
GATE_MEASURES = (NDCG10, RECALL20)
XQUAD_EVERY = 5
PIN_HINT = (
    "Review the judgments (evaluation/collections/domain/GUIDELINE.md), then re-pin the floors with "
    "`foerdersuche eval --pin` and commit evaluation/gate.toml with the change."
)


class GateError(RuntimeError):
    """gate.toml is missing or malformed."""


@dataclass(frozen=True)
class Fingerprint:
    """What the scores were measured on; any difference makes the floors meaningless."""

    corpus_sha256: str
    collection_sha256: str
    xquad_sha256: str
    model: str
    default_variant: str
    chunking: str
    retrieval: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Gate:
    fingerprint: dict[str, str]
    floors: dict[str, dict[str, float]]  # backend that ran -> gated key -> floor
    margin: float = MARGIN
    info: dict[str, Any] = field(default_factory=dict)

    def floors_for(self, backend: str) -> dict[str, float]:
        if backend not in self.floors:
            pinned = ", ".join(sorted(self.floors)) or "none"
            raise GateError(f"No floors pinned for the dense backend {backend!r} (pinned: {pinned}). {PIN_HINT}")
        return self.floors[backend]


def fingerprint(settings: Settings, model: str) -> Fingerprint:
    return Fingerprint(
        corpus_sha256=corpus_sha256(),
        collection_sha256=load_domain().sha256,
        xquad_sha256=files_sha256([xquad.XQUAD_FILE]),
        model=model,
        default_variant=default_variant_name(settings),
        chunking=f"{settings.chunk_target_words}/{settings.chunk_max_words}/{settings.chunk_min_words}",
        retrieval=f"prefetch {settings.prefetch_limit}, place_boost {settings.place_boost:g}",
    )


def _key(*parts: str) -> str:
    return "/".join(parts)


def scores_from(domain: Mapping[str, Any], xq: Mapping[str, Any]) -> dict[str, float]:
    """The gated numbers of two evaluation reports, keyed ``collection/level/variant/measure``."""
    out: dict[str, float] = {}
    for level_name, level in domain["levels"].items():
        for variant, v in level["variants"].items():
            for m in GATE_MEASURES:
                out[_key("domain", level_name, variant, m.name)] = float(v["all"][m.name])
    for level_name, level in xq["levels"].items():
        for variant, v in level["variants"].items():
            for m in GATE_MEASURES:
                out[_key(f"{xquad.NAME}-every{XQUAD_EVERY}", level_name, variant, m.name)] = float(v["all"][m.name])
    return out


def measure(
    settings: Settings,
    embedder: Embedder,
    workdir: Path,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, float], dict[str, Any], dict[str, Any]]:
    """The gated scores, measured on indexes under ``workdir``; also returns both reports."""
    variants = standard_variants(settings)
    default = default_variant_name(settings)
    domain = run_domain(
        settings, embedder, workdir / "domain", EvalRequest(variants=tuple(variants)), progress=progress
    )
    hybrid: tuple[Variant, ...] = tuple(v for v in variants if v.name == default)
    xq = run_xquad(
        settings,
        embedder,
        workdir / xquad.NAME,
        EvalRequest(variants=hybrid, xquad_every=XQUAD_EVERY),
        progress=progress,
    )
    return scores_from(domain, xq), domain, xq


def load(path: Path = GATE_FILE) -> Gate:
    if not path.is_file():
        raise GateError(f"{path} does not exist. {PIN_HINT}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise GateError(f"{path} is not valid TOML: {exc}") from exc
    try:
        pinned = data["pinned"]
        floors = {
            str(backend): {str(k): float(v) for k, v in table.items()} for backend, table in data["floors"].items()
        }
        fp = {k: str(pinned[k]) for k in Fingerprint.__dataclass_fields__}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # missing keys, or floors of an old layout
        raise GateError(f"{path} lacks {exc} or is laid out the old way: {PIN_HINT}") from exc
    info = {k: v for k, v in pinned.items() if k not in fp}
    return Gate(fingerprint=fp, floors=floors, margin=float(pinned.get("margin", MARGIN)), info=info)


def check_fingerprint(gate: Gate, current: Fingerprint) -> list[str]:
    """One line per difference between what the floors were measured on and what is here now."""
    problems = []
    labels = {
        "corpus_sha256": "the sample corpus (corpus/sample) changed",
        "collection_sha256": "the domain collection (queries or qrels) changed",
        "xquad_sha256": "the XQuAD-de file changed",
    }
    for name, now in current.as_dict().items():
        pinned = gate.fingerprint.get(name)
        if pinned != now:
            why = labels.get(name, f"the setting `{name}` differs")
            problems.append(f"{why}: pinned {pinned!r}, now {now!r}")
    return problems


def check_scores(gate: Gate, scores: Mapping[str, float], backend: str) -> list[str]:
    """One line per floor of ``backend`` that a score misses by more than the margin (or that was not measured)."""
    failures = []
    floors = gate.floors_for(backend)
    for key, floor in sorted(floors.items()):
        if key not in scores:
            failures.append(f"{key}: pinned {floor:.4f} but not measured any more. {PIN_HINT}")
        elif scores[key] < floor - gate.margin:
            failures.append(f"{key}: {scores[key]:.4f} < floor {floor:.4f} - margin {gate.margin:g}")
    for key in sorted(set(scores) - set(floors)):
        failures.append(f"{key}: measured {scores[key]:.4f} but has no floor. {PIN_HINT}")
    return failures


def _floor(value: float) -> float:
    """Rounded down to 4 decimals, so the pinned floor never exceeds the measured score."""
    return math.floor(value * 10_000 + 1e-9) / 10_000


def render(floors: Mapping[str, Mapping[str, float]], fp: Fingerprint, margin: float = MARGIN) -> str:
    commit = git_commit()
    lines = [
        "# The quality gate, checked by tests/evaluation/test_gate.py. Written by `foerdersuche eval --pin`;",
        "# do not edit floors by hand. A run fails when a score drops more than `margin` below its floor, and when",
        "# anything under [pinned] differs from the checkout (corpus, collection, model, settings).",
        "",
        "[pinned]",
        f"margin = {margin}",
        f"xquad_every = {XQUAD_EVERY}",
    ]
    for name, value in fp.as_dict().items():
        lines.append(f'{name} = "{value}"')
    lines += [
        f'pinned_at = "{dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}"',
        f'pinned_on_commit = "{commit.get("commit") or "unknown"}"'
        + (" # work tree differed" if commit.get("dirty") else ""),
    ]
    for backend in sorted(floors):
        lines += ["", f'[floors."{backend}"]']
        for key in sorted(floors[backend]):
            lines.append(f'"{key}" = {floors[backend][key]:.4f}')
    return "\n".join(lines) + "\n"


def pin(scores: Mapping[str, float], fp: Fingerprint, backend: str, path: Path = GATE_FILE) -> Path:
    """Write the floors of ``backend`` (the scores rounded down); the other backends' floors stay while
    they were measured on the same fingerprint, else they are dropped (they would be stale)."""
    floors: dict[str, dict[str, float]] = {}
    with contextlib.suppress(GateError):  # no readable file yet: nothing to keep
        previous = load(path)
        if not check_fingerprint(previous, fp):
            floors.update(previous.floors)
    floors[backend] = {key: _floor(value) for key, value in scores.items()}
    path.write_text(render(floors, fp), encoding="utf-8")
    load(path)  # what was written must read back
    return path
