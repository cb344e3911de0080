"""Trial matching, as a table: ages across units, missing maxima, sex, location, recruiting
only, and the funnel's counts with the criterion to widen."""

from __future__ import annotations

import pytest

from app.library.matching import SiteView, TrialView, match_trials
from app.library.schemas import MatchIn, parse_age


def trial(
    rid: str,
    *,
    min_age: str | None = None,
    max_age: str | None = None,
    sex: str = "all",
    status: str = "recruiting",
    sites: tuple[tuple[str, str, str, str], ...] = (("Bethesda", "Maryland", "US", "recruiting"),),
) -> TrialView:
    lo = parse_age(min_age) if min_age else (None, "")
    hi = parse_age(max_age) if max_age else (None, "")
    return TrialView(
        registry_id=rid,
        title=rid,
        summary="",
        status=status,
        conditions=[],
        min_age_days=lo[0],
        max_age_days=hi[0],
        min_age_text=lo[1],
        max_age_text=hi[1],
        sex=sex,
        url="",
        is_sample=False,
        sites=[SiteView("Site", c, r, k, st) for c, r, k, st in sites],
    )


def trials() -> list[TrialView]:
    return [
        trial("infants-to-teens", min_age="6 months", max_age="18 years"),
        trial("two-to-seventeen", min_age="2 years", max_age="17 years"),
        trial("from-two-no-max", min_age="2 years"),
        trial("any-age"),
        trial("girls-only", sex="female", min_age="1 year", max_age="12 years"),
        trial("not-yet", status="not_yet_recruiting"),
        trial(
            "toronto",
            min_age="52 weeks",
            max_age="3 years",
            sites=(("Toronto", "Ontario", "Canada", "recruiting"),),
        ),
        trial(
            "site-closed",
            sites=(("Seattle", "Washington", "United States", "completed"),),
        ),
    ]


CASES = [
    # (criteria, matching ids, funnel counts, widen mentions)
    (  # no sex given: trials for girls only are not left out
        {"age": 14, "age_unit": "months"},
        ["infants-to-teens", "any-age", "girls-only", "toronto", "site-closed"],
        [8, 7, 5],
        None,
    ),
    (
        {"age": 14, "age_unit": "months", "sex": "male"},
        ["infants-to-teens", "any-age", "toronto", "site-closed"],
        [8, 7, 4],
        None,
    ),
    (  # 12 months is 1 year and 52 weeks is (nearly) a year: the same age in other units
        {"age": 365, "age_unit": "days", "sex": "male"},
        ["infants-to-teens", "any-age", "toronto", "site-closed"],
        [8, 7, 4],
        None,
    ),
    (  # no maximum: an 80-year-old fits "2 years and older"
        {"age": 80, "age_unit": "years"},
        ["from-two-no-max", "any-age", "site-closed"],
        [8, 7, 3],
        None,
    ),
    (  # recruiting only (the default) also drops not-yet-recruiting trials...
        {},
        [t.registry_id for t in trials() if t.status == "recruiting"],
        [8, 7],
        None,
    ),
    (  # ...and unticked, keeps them
        {"recruiting_only": False},
        [t.registry_id for t in trials()],
        [8],
        None,
    ),
    (  # a country in either spelling; only sites recruiting count
        {"country": "United States"},
        ["infants-to-teens", "two-to-seventeen", "from-two-no-max", "any-age", "girls-only"],
        [8, 7, 5],
        None,
    ),
    (
        {"country": "us", "recruiting_only": False},
        [
            "infants-to-teens",
            "two-to-seventeen",
            "from-two-no-max",
            "any-age",
            "girls-only",
            "not-yet",
            "site-closed",
        ],
        [8, 7],
        None,
    ),
    (
        {"country": "Canada", "city": "Toronto", "age": 14, "age_unit": "months"},
        ["toronto"],
        [8, 7, 1, 1],
        None,
    ),
    (  # a state by its postal code or its name
        {"country": "US", "region": "MD"},
        ["infants-to-teens", "two-to-seventeen", "from-two-no-max", "any-age", "girls-only"],
        [8, 7, 5],
        None,
    ),
    (
        {"country": "US", "region": "maryland", "city": "bethesda"},
        ["infants-to-teens", "two-to-seventeen", "from-two-no-max", "any-age", "girls-only"],
        [8, 7, 5],
        None,
    ),
    (  # nothing in the city: widen the place
        {"country": "US", "city": "Boston"},
        [],
        [8, 7, 0],
        "try the region or the country only",
    ),
    (  # nothing for a newborn: the age is the criterion to check
        {"age": 3, "age_unit": "days", "country": "US"},
        ["any-age"],
        [8, 7, 5, 1],
        None,
    ),
    (
        {"age": 3, "age_unit": "days", "country": "Canada"},
        [],
        [8, 7, 1, 0],
        "check the age and its unit",
    ),
]


@pytest.mark.parametrize(("given", "expected", "funnel", "widen"), CASES)
def test_trial_matching_table(
    given: dict[str, object], expected: list[str], funnel: list[int], widen: str | None
) -> None:
    result = match_trials(trials(), MatchIn.model_validate(given))
    assert [t.registry_id for t in result.trials] == expected
    assert [s.count for s in result.steps] == funnel
    if widen is None:
        assert result.widen is None
    else:
        assert result.widen is not None and widen in result.widen


def test_a_fourteen_month_old_fits_six_months_to_eighteen_years_not_two_to_seventeen() -> None:
    result = match_trials(trials()[:2], MatchIn(age=14, age_unit="months"))
    assert [t.registry_id for t in result.trials] == ["infants-to-teens"]


def test_nothing_recruiting_says_to_untick_recruiting_only() -> None:
    result = match_trials([trial("not-yet", status="not_yet_recruiting")], MatchIn())
    assert result.trials == [] and "recruiting only" in (result.widen or "")


def test_ages_in_every_unit_compare_alike() -> None:
    assert parse_age("12 months")[0] == parse_age("1 year")[0]
    assert parse_age("2 weeks")[0] == parse_age("14 days")[0]
    assert parse_age("18 months")[0] < parse_age("2 years")[0]
    assert parse_age("1.5 years")[0] == parse_age("18 months")[0]


def test_specialists_filter_by_tier_and_by_place_in_any_spelling() -> None:
    from app.library.service import SpecialistView, filter_specialists

    people = [
        SpecialistView("A", "Hematology", "elite", "Rochester", "MN", "US", "", True),
        SpecialistView("B", "Hematology", "expert", "Toronto", "ON", "Canada", "", False),
    ]
    names = lambda **kw: [s.name for s in filter_specialists(people, **kw)]  # noqa: E731
    assert names(tier="elite", place=None) == ["A"]
    assert names(tier=None, place="Minnesota") == ["A"]
    assert names(tier=None, place="united states") == ["A"]
    assert names(tier=None, place="toronto") == ["B"]
    assert names(tier="elite", place="Ontario") == []
