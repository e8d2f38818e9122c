"""The measures come from ranx; these tests pin what they mean with the arithmetic written out."""

import math

import pytest

from evaluation.quality.measures import MAP, MEASURES, MRR10, NDCG10, RECALL5, RECALL20, compare, evaluate, per_query


def test_measures_print_as_their_usual_names() -> None:
    assert [str(m) for m in MEASURES] == ["nDCG@10", "MRR@10", "Recall@5", "Recall@20", "MAP"]
    assert NDCG10.ranx == "ndcg@10"


def test_binary_judgments() -> None:
    qrels = {"q": {"a": 1, "b": 1}}
    run = {"q": {"x": 3.0, "a": 2.0, "b": 1.0}}  # relevant at ranks 2 and 3
    scores = evaluate(qrels, run)
    assert scores[MRR10.name] == pytest.approx(1 / 2)
    assert scores[RECALL5.name] == pytest.approx(1.0)
    assert scores[MAP.name] == pytest.approx((1 / 2 + 2 / 3) / 2)
    ideal = 1 / math.log2(2) + 1 / math.log2(3)
    assert scores[NDCG10.name] == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / ideal)


def test_graded_gain_is_linear() -> None:
    qrels = {"q": {"a": 2, "b": 1}}
    run = {"q": {"b": 2.0, "a": 1.0}}  # the partially relevant one first
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert evaluate(qrels, run)[NDCG10.name] == pytest.approx((1 / math.log2(2) + 2 / math.log2(3)) / ideal)


def test_recall_at_5_misses_what_ranks_sixth() -> None:
    qrels = {"q": {"f": 1, "a": 1}}
    run = {"q": {d: float(10 - i) for i, d in enumerate("abcdef")}}
    scores = evaluate(qrels, run)
    assert scores[RECALL5.name] == pytest.approx(1 / 2)
    assert scores[RECALL20.name] == pytest.approx(1.0)


def test_query_without_hits_counts_zero_and_no_answer_queries_are_left_out() -> None:
    qrels = {"found": {"a": 1}, "missed": {"b": 1}, "no_answer": {}}
    run = {"found": {"a": 1.0}, "no_answer": {"z": 1.0}}
    per = per_query(qrels, run, NDCG10)
    assert per == {"found": pytest.approx(1.0), "missed": pytest.approx(0.0)}
    assert evaluate(qrels, run)[MRR10.name] == pytest.approx((1 + 0) / 2)


def test_nothing_to_evaluate_is_an_error() -> None:
    with pytest.raises(ValueError, match="no query has a relevant item"):
        evaluate({"q": {"a": 0}}, {"q": {"a": 1.0}})


def test_compare_reports_each_pair_once_with_a_p_value() -> None:
    qrels = {f"q{i}": {"a": 1} for i in range(8)}
    # good finds "a" first on even queries, second on odd ones; bad finds it at rank 3 or not at all
    good = {q: ({"a": 2.0, "x": 1.0} if i % 2 == 0 else {"x": 2.0, "a": 1.0}) for i, q in enumerate(qrels)}
    bad = {q: ({"x": 3.0, "y": 2.0, "a": 1.0} if i % 3 == 0 else {"x": 2.0}) for i, q in enumerate(qrels)}
    pairs = compare(qrels, {"good": good, "bad": bad, "also_good": good}, [NDCG10])
    assert [(c.a, c.b) for c in pairs] == [("good", "bad"), ("good", "also_good"), ("bad", "also_good")]
    good_bad = pairs[0]
    assert good_bad.significant and good_bad.p_value is not None and good_bad.p_value < 0.05
    assert (good_bad.wins, good_bad.ties, good_bad.losses) == (8, 0, 0)
    identical = pairs[1]  # the same run twice: nothing to test, never significant
    assert not identical.significant and identical.p_value is None
