"""Which of a condition's trials might take this patient, and why the others do not.

The match narrows in steps, and the page shows each step's count (the funnel): the
condition's trials; of those, the ones recruiting (when "recruiting only", the default:
`not_yet_recruiting` is not recruiting); then those with a site in the place asked for;
then those whose age range and sex take the patient. When nothing is left, the first step
that emptied the list names the criterion to widen.

Ages compare in days (schemas.DAYS_PER_UNIT): a 14-month-old (426 days) is inside "6 months
to 18 years" and below "2 years". A missing minimum or maximum is no limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.library.schemas import MatchIn

RECRUITING = "recruiting"

# Country names ClinicalTrials.gov writes, and the codes content files use
COUNTRY_ALIASES = {
    "us": "united states",
    "usa": "united states",
    "united states of america": "united states",
    "uk": "united kingdom",
    "gb": "united kingdom",
    "ca": "canada",
    "au": "australia",
    "de": "germany",
    "fr": "france",
    "es": "spain",
    "it": "italy",
    "nl": "netherlands",
    "no": "norway",
    "se": "sweden",
    "ie": "ireland",
    "in": "india",
    "iq": "iraq",
    "mx": "mexico",
    "br": "brazil",
    "cn": "china",
    "jp": "japan",
}


# US states and Canadian provinces by their postal codes: content files tend to write "MD",
# ClinicalTrials.gov writes "Maryland", and people type either
REGION_ALIASES = {
    code.lower(): name
    for code, name in (
        ("AL", "alabama"),
        ("AK", "alaska"),
        ("AZ", "arizona"),
        ("AR", "arkansas"),
        ("CA", "california"),
        ("CO", "colorado"),
        ("CT", "connecticut"),
        ("DE", "delaware"),
        ("DC", "district of columbia"),
        ("FL", "florida"),
        ("GA", "georgia"),
        ("HI", "hawaii"),
        ("ID", "idaho"),
        ("IL", "illinois"),
        ("IN", "indiana"),
        ("IA", "iowa"),
        ("KS", "kansas"),
        ("KY", "kentucky"),
        ("LA", "louisiana"),
        ("ME", "maine"),
        ("MD", "maryland"),
        ("MA", "massachusetts"),
        ("MI", "michigan"),
        ("MN", "minnesota"),
        ("MS", "mississippi"),
        ("MO", "missouri"),
        ("MT", "montana"),
        ("NE", "nebraska"),
        ("NV", "nevada"),
        ("NH", "new hampshire"),
        ("NJ", "new jersey"),
        ("NM", "new mexico"),
        ("NY", "new york"),
        ("NC", "north carolina"),
        ("ND", "north dakota"),
        ("OH", "ohio"),
        ("OK", "oklahoma"),
        ("OR", "oregon"),
        ("PA", "pennsylvania"),
        ("RI", "rhode island"),
        ("SC", "south carolina"),
        ("SD", "south dakota"),
        ("TN", "tennessee"),
        ("TX", "texas"),
        ("UT", "utah"),
        ("VT", "vermont"),
        ("VA", "virginia"),
        ("WA", "washington"),
        ("WV", "west virginia"),
        ("WI", "wisconsin"),
        ("WY", "wyoming"),
        ("AB", "alberta"),
        ("BC", "british columbia"),
        ("MB", "manitoba"),
        ("NB", "new brunswick"),
        ("NL", "newfoundland and labrador"),
        ("NS", "nova scotia"),
        ("ON", "ontario"),
        ("PE", "prince edward island"),
        ("QC", "quebec"),
        ("SK", "saskatchewan"),
    )
}


def same_region(a: str, b: str) -> bool:
    x, y = normalize(a), normalize(b)
    return REGION_ALIASES.get(x, x) == REGION_ALIASES.get(y, y)


def normalize(value: str) -> str:
    return " ".join(value.casefold().replace(".", "").split())


def same_country(a: str, b: str) -> bool:
    x, y = normalize(a), normalize(b)
    return COUNTRY_ALIASES.get(x, x) == COUNTRY_ALIASES.get(y, y)


@dataclass(slots=True)
class SiteView:
    facility: str
    city: str
    region: str
    country: str
    status: str
    matches_place: bool = True


@dataclass(slots=True)
class TrialView:
    registry_id: str
    title: str
    summary: str
    status: str
    conditions: list[str]
    min_age_days: float | None
    max_age_days: float | None
    min_age_text: str
    max_age_text: str
    sex: str
    url: str
    is_sample: bool
    sites: list[SiteView] = field(default_factory=list)

    @property
    def ages_text(self) -> str:
        if self.min_age_text and self.max_age_text:
            return f"{self.min_age_text} to {self.max_age_text}"
        if self.min_age_text:
            return f"{self.min_age_text} and older"
        if self.max_age_text:
            return f"up to {self.max_age_text}"
        return "any age"

    @property
    def status_label(self) -> str:
        return self.status.replace("_", " ").capitalize()


@dataclass(slots=True)
class FunnelStep:
    label: str
    count: int


@dataclass(slots=True)
class MatchResult:
    criteria: MatchIn
    steps: list[FunnelStep]
    trials: list[TrialView]
    widen: str | None  # which criterion to widen, when nothing matched
    # when nothing matched: the trials left before the step that emptied the list
    nearest: list[TrialView] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        return len(self.steps) > 1


def _place_text(criteria: MatchIn) -> str:
    return ", ".join(p for p in (criteria.city, criteria.region, criteria.country) if p)


def site_matches(site: SiteView, criteria: MatchIn) -> bool:
    if criteria.country and not same_country(site.country, criteria.country):
        return False
    if criteria.region and not same_region(site.region, criteria.region):
        return False
    return not (criteria.city and normalize(site.city) != normalize(criteria.city))


def takes_age(trial: TrialView, age_days: float) -> bool:
    # a small tolerance: 12 months and 1 year are the same age, whatever the rounding
    if trial.min_age_days is not None and age_days < trial.min_age_days - 1e-6:
        return False
    return trial.max_age_days is None or age_days <= trial.max_age_days + 1e-6


def takes_sex(trial: TrialView, sex: str | None) -> bool:
    return sex is None or trial.sex == "all" or trial.sex == sex


def match_trials(trials: list[TrialView], criteria: MatchIn) -> MatchResult:
    steps = [FunnelStep("for this condition", len(trials))]
    remaining = list(trials)
    widen: str | None = None
    nearest: list[TrialView] = []

    def narrow(kept: list[TrialView], label: str, advice: str) -> None:
        nonlocal remaining, widen, nearest
        if remaining and not kept and widen is None:
            widen, nearest = advice, remaining
        remaining = kept
        steps.append(FunnelStep(label, len(kept)))

    if criteria.recruiting_only:
        narrow(
            [t for t in remaining if t.status == RECRUITING],
            "recruiting now",
            "None of these trials is recruiting now: untick \u201crecruiting only\u201d to see "
            "trials not yet recruiting or closed.",
        )
    if criteria.country:
        kept = []
        for trial in remaining:
            sites = [
                s
                for s in trial.sites
                if site_matches(s, criteria)
                and (not criteria.recruiting_only or s.status == RECRUITING)
            ]
            if sites:
                for site in trial.sites:
                    site.matches_place = site_matches(site, criteria)
                kept.append(trial)
        place = _place_text(criteria)
        advice = (
            f"No trial has a site recruiting in {place}: try the region or the country only."
            if criteria.city or criteria.region
            else f"No trial has a site recruiting in {place}: try another country, or leave "
            "the location empty."
        )
        narrow(kept, f"with a site in {place}", advice)
    age = criteria.age_days
    if age is not None or criteria.sex is not None:
        kept = [
            t
            for t in remaining
            if (age is None or takes_age(t, age)) and takes_sex(t, criteria.sex)
        ]
        who = f"a {criteria.sex.value} patient" if criteria.sex is not None else "a patient"
        if age is not None:
            who += f" aged {criteria.age_text}"
        advice = (
            f"None of these trials takes {who}: check the age and its unit, or "
            "compare it with the age ranges below."
        )
        narrow(kept, f"that take {who}", advice)
    if not steps[0].count:
        widen = "This condition has no trials listed yet."
    return MatchResult(
        criteria=criteria, steps=steps, trials=remaining, widen=widen, nearest=nearest
    )
