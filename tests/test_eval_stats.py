"""The statistics of the eval matrix on made-up counts: clusters, intervals, paired verdicts."""

from __future__ import annotations

import pytest

from structurer.quality import stats
from structurer.quality.scoring import CaseScore


def _case(name: str, origin: str, right: int, total: int) -> CaseScore:
    score = CaseScore(name, origin=origin, forms_expected=1)
    score.fields_correct, score.fields_total = right, total
    return score


def test_renderings_of_one_document_are_one_cluster() -> None:
    cases = [_case("a", "doc", 9, 10), _case("a-pdf", "doc", 8, 10), _case("b", "", 5, 10)]
    groups = stats.clusters(cases)
    assert len(groups) == 2
    assert stats.METRICS["field_accuracy"][0](groups[0]) == pytest.approx(17 / 20)


@pytest.mark.parametrize(("df", "exact"), [(1, 12.706), (4, 2.776), (5, 2.571), (10, 2.228),
                                           (30, 2.042)])  # fmt: skip
def test_t_quantile(df: int, exact: float) -> None:
    assert stats.t_quantile(df) == pytest.approx(exact, rel=0.01)


def test_one_document_has_no_interval_and_identical_rows_no_difference() -> None:
    one = [stats.case_counts(_case("a", "", 9, 10))]
    assert stats.intervals(one, stats.resamples(1, rounds=50))["field_accuracy"] is None
    rows = [stats.case_counts(_case(str(i), "", 7 + i % 3, 10)) for i in range(12)]
    draws = stats.resamples(12, rounds=200)
    [same] = [c for c in stats.compare_all({"a": rows, "b": rows}, draws)
              if c.metric == "field_accuracy"]  # fmt: skip
    assert same.verdict == "no difference at this n" and same.p_value == 1.0


def test_a_clear_difference_is_seen_and_its_direction_named() -> None:
    good = [stats.case_counts(_case(str(i), "", 95, 100)) for i in range(15)]
    poor = [stats.case_counts(_case(str(i), "", 80 + i % 5, 100)) for i in range(15)]
    draws = stats.resamples(15, rounds=500)
    found = {(c.a, c.metric): c for c in stats.compare_all({"good": good, "poor": poor}, draws)}
    better = found[("good", "field_accuracy")]
    assert better.verdict == "better" and better.low > 0 and better.p_value < 0.01
    assert better.forms_needed(0.01) > better.forms_needed(0.05)
    reverse = stats.compare_all({"poor": poor, "good": good}, draws)
    assert {c.verdict for c in reverse if c.metric == "field_accuracy"} == {"worse"}
