"""``python -m foerdersuche.query_profile``: the profile of a query and of a question's answer steps over
an index, as the API opens it (a report tool; here on the sample index)."""

from __future__ import annotations

from foerdersuche import query_profile
from tests.conftest import SampleIndex


def test_the_profile_times_every_step_of_a_directly_answered_question(sample_index: SampleIndex) -> None:
    settings = sample_index.settings
    result = query_profile.run(settings.data_dir, settings.model_dir, 68, 5)

    assert result["passages"] == sample_index.report.passages_written  # type: ignore[attr-defined]
    assert result["questions"] >= 10  # the domain collection asks questions the answer reads
    steps = result["answer_steps_ms"]
    assert list(steps) == list(query_profile.STEPS)
    for step, row in steps.items():
        assert row["n"] == result["questions"], step
        assert 0 < row["p50"] <= row["p95"], (step, row)
    assert "search_response" in result["profile"]
