"""What the library accepts: the content files' front matter, the trial-match form, and
the shapes the API answers with.

Front matter is YAML, and YAML guesses types: `country: NO` is read as false,
`city: 10:00` as the number 600, `title: 2021` as a number. Every text field here takes
text only (`Text`): a value YAML turned into a boolean, a number or a date is refused with
a sentence that says so and how to fix it (quote it), instead of being stored as "False".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from app.core.text import slugify
from app.core.validation import check_storable

# -- ages --------------------------------------------------------------------------------


class AgeUnit(StrEnum):
    days = "days"
    weeks = "weeks"
    months = "months"
    years = "years"


# Every age is compared in days. A month is a twelfth of a year, so "12 months" and
# "1 year" are the same age, and a week is seven days.
DAYS_PER_UNIT = {
    AgeUnit.days: 1.0,
    AgeUnit.weeks: 7.0,
    AgeUnit.months: 365.25 / 12,
    AgeUnit.years: 365.25,
}
MAX_AGE_DAYS = 130 * 365.25  # nobody is older; larger ages are typing mistakes

_UNIT_WORDS = {
    "day": AgeUnit.days,
    "days": AgeUnit.days,
    "week": AgeUnit.weeks,
    "weeks": AgeUnit.weeks,
    "month": AgeUnit.months,
    "months": AgeUnit.months,
    "year": AgeUnit.years,
    "years": AgeUnit.years,
}
_AGE = re.compile(r"^\s*(\d{1,4}(?:\.\d{1,2})?)\s*([A-Za-z]+)\s*$")


def age_in_days(number: float, unit: AgeUnit) -> float:
    return number * DAYS_PER_UNIT[unit]


def parse_age(text: str) -> tuple[float, str]:
    """'6 months' -> (182.6..., '6 months'). A number without a unit is refused: '6' could
    be days, months or years."""
    match = _AGE.match(text)
    if match is None:
        if re.fullmatch(r"\s*\d+(\.\d+)?\s*", text):
            raise ValueError(f"age {text.strip()!r} has no unit: write e.g. '{text.strip()} years'")
        raise ValueError(f"{text!r} is not an age: write a number and a unit, e.g. '6 months'")
    unit = _UNIT_WORDS.get(match.group(2).lower())
    if unit is None:
        raise ValueError(f"{match.group(2)!r} is not an age unit: use days, weeks, months or years")
    days = age_in_days(float(match.group(1)), unit)
    if days > MAX_AGE_DAYS:
        raise ValueError(f"{text!r} is older than anyone lives")
    return days, f"{match.group(1)} {unit.value if float(match.group(1)) != 1 else unit.value[:-1]}"


# -- text as YAML may mangle it -----------------------------------------------------------


def _text_only(value: Any) -> Any:
    if isinstance(value, bool):
        word = "true" if value else "false"
        raise ValueError(
            f"YAML read this as {word} (it does that to yes/no/on/off, and to NO, Norway's "
            "code): put the value in quotes"
        )
    if isinstance(value, int | float):
        raise ValueError(
            f"YAML read this as the number {value!r} (times such as 10:00 become numbers "
            "too): put the value in quotes"
        )
    if isinstance(value, date | datetime):
        raise ValueError("YAML read this as a date: put the value in quotes")
    if not isinstance(value, str):
        raise ValueError("must be text")
    return check_storable(value)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _https_url(value: str) -> str:
    if value and not re.match(r"^https?://[^\s/$.?#][^\s]*$", value):
        raise ValueError("must be a web address starting with https://")
    return value


Text = Annotated[str, BeforeValidator(_text_only)]


# Text fields of the content format: text only (see the module's docstring), at most so
# many characters; "Filled" ones must not be blank.
_TEXT = BeforeValidator(_text_only)
_FILLED = AfterValidator(_not_blank)
FilledId = Annotated[str, _TEXT, _FILLED, Field(max_length=40)]
FilledSlug = Annotated[str, _TEXT, _FILLED, Field(max_length=80)]
FilledPlace = Annotated[str, _TEXT, _FILLED, Field(max_length=100)]
FilledName = Annotated[str, _TEXT, _FILLED, Field(max_length=200)]
FilledTitle = Annotated[str, _TEXT, _FILLED, Field(max_length=500)]
FilledLong = Annotated[str, _TEXT, _FILLED, Field(max_length=2000)]
OptionalPlace = Annotated[str, _TEXT, Field(max_length=100)]
OptionalName = Annotated[str, _TEXT, Field(max_length=200)]
OptionalLine = Annotated[str, _TEXT, Field(max_length=300)]
OptionalParagraphs = Annotated[str, _TEXT, Field(max_length=5000)]


Url = Annotated[str, BeforeValidator(_text_only), Field(max_length=500)]


def _age_number(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"age {value!r} has no unit: write e.g. '{value} years'")
    return value


AgeText = Annotated[
    str, BeforeValidator(_text_only), BeforeValidator(_age_number), Field(max_length=40)
]


def _iso_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError("must be a date (YYYY-MM-DD) without a time")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a real date") from None
    raise ValueError(f"{value!r} is not an ISO date: write YYYY-MM-DD, e.g. 2021-12-10")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


# -- the front matter -----------------------------------------------------------------------


class Tier(StrEnum):
    elite = "elite"
    expert = "expert"
    advanced = "advanced"
    experienced = "experienced"


TIER_EXPLAINED = {
    Tier.elite: "Elite: the most experience with this condition, among the top of "
    "specialists who treat it.",
    Tier.expert: "Expert: extensive experience with this condition.",
    Tier.advanced: "Advanced: substantial experience with this condition.",
    Tier.experienced: "Experienced: has treated this condition.",
}


class TrialStatus(StrEnum):
    """ClinicalTrials.gov's recruitment statuses (its API v2 writes them upper-case)."""

    recruiting = "recruiting"
    not_yet_recruiting = "not_yet_recruiting"
    enrolling_by_invitation = "enrolling_by_invitation"
    active_not_recruiting = "active_not_recruiting"
    suspended = "suspended"
    terminated = "terminated"
    completed = "completed"
    withdrawn = "withdrawn"
    available = "available"
    no_longer_available = "no_longer_available"
    temporarily_not_available = "temporarily_not_available"
    approved_for_marketing = "approved_for_marketing"
    withheld = "withheld"
    unknown = "unknown"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Sex(StrEnum):
    all = "all"
    female = "female"
    male = "male"


def _lower_enum(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        return _text_only(value)
    return value.strip().lower() if isinstance(value, str) else value


# ClinicalTrials.gov identifiers, or an example clearly named as one (demo data).
REGISTRY_ID = re.compile(r"^(NCT\d{8}|EXAMPLE-[A-Z0-9-]{1,30})$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class PersonIn(Strict):
    name: FilledName
    credentials: OptionalName = ""
    affiliation: OptionalLine = ""


class SpecialistIn(Strict):
    name: FilledName
    specialty: FilledName
    tier: Annotated[Tier, BeforeValidator(_lower_enum)]
    city: FilledPlace
    region: OptionalPlace = ""
    country: FilledPlace
    url: Url = ""
    sample: StrictBool = False

    @field_validator("url")
    @classmethod
    def _url_ok(cls, value: str) -> str:
        return _https_url(value)


class LocationIn(Strict):
    facility: OptionalLine = ""
    city: OptionalPlace = ""
    region: OptionalPlace = ""
    country: FilledPlace
    status: Annotated[TrialStatus, BeforeValidator(_lower_enum)] = TrialStatus.unknown


class TrialIn(Strict):
    id: FilledId
    title: FilledTitle
    summary: OptionalParagraphs = ""
    status: Annotated[TrialStatus, BeforeValidator(_lower_enum)]
    conditions: list[FilledName] = []
    min_age: AgeText | None = None
    max_age: AgeText | None = None
    sex: Annotated[Sex, BeforeValidator(_lower_enum)] = Sex.all
    url: Url = ""
    sample: StrictBool = False
    locations: list[LocationIn] = Field(default=[], max_length=500)

    @field_validator("id")
    @classmethod
    def _registry_id(cls, value: str) -> str:
        if not REGISTRY_ID.match(value):
            raise ValueError(
                f"{value!r} is not a ClinicalTrials.gov identifier (NCT and 8 digits) "
                "or an example marked EXAMPLE-..."
            )
        return value

    @field_validator("min_age", "max_age")
    @classmethod
    def _age(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            parse_age(value)
        return value or None

    @field_validator("url")
    @classmethod
    def _url_ok(cls, value: str) -> str:
        return _https_url(value)

    @model_validator(mode="after")
    def _ages_in_order(self) -> TrialIn:
        if (
            self.min_age
            and self.max_age
            and parse_age(self.min_age)[0] > parse_age(self.max_age)[0]
        ):
            raise ValueError("min_age is older than max_age")
        return self


class AdvanceIn(Strict):
    title: FilledLong
    source: OptionalLine = ""
    year: StrictInt | None = Field(default=None, ge=1800, le=2200)
    url: Url = ""

    @field_validator("url")
    @classmethod
    def _url_ok(cls, value: str) -> str:
        return _https_url(value)


SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class FrontMatter(Strict):
    title: FilledName
    slug: FilledSlug | None = None
    also_called: list[FilledName] = Field(default=[], max_length=50)
    summary: FilledLong
    published: IsoDate
    reviewed: IsoDate | None = None
    next_review: IsoDate | None = None
    authors: list[PersonIn] = Field(default=[], max_length=50)
    reviewers: list[PersonIn] = Field(default=[], max_length=50)
    groups: list[FilledSlug] = Field(default=[], max_length=20)
    references: list[FilledLong] = Field(default=[], max_length=500)
    specialists: list[SpecialistIn] = Field(default=[], max_length=1000)
    trials: list[TrialIn] = Field(default=[], max_length=1000)
    advances: list[AdvanceIn] = Field(default=[], max_length=200)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is not None and not SLUG.match(value):
            raise ValueError(f"{value!r} is not a slug: lower-case letters, digits and dashes")
        return value

    @model_validator(mode="after")
    def _dates_in_order(self) -> FrontMatter:
        if self.reviewed is not None and self.reviewed < self.published:
            raise ValueError("reviewed is before published")
        if self.next_review is not None and self.next_review < (self.reviewed or self.published):
            raise ValueError("next_review is before the last review")
        return self

    @property
    def resolved_slug(self) -> str:
        return self.slug or slugify(self.title, fallback="condition")


# -- trial matching -------------------------------------------------------------------------


class PatientSex(StrEnum):
    female = "female"
    male = "male"


Place = Annotated[str, Field(max_length=100)]


class MatchIn(BaseModel):
    """The "Match to trials" form and the API's query: every field optional; an age needs
    its unit (14 alone could be days, months or years)."""

    model_config = ConfigDict(extra="ignore")

    age: float | None = Field(default=None, ge=0, le=36_500)
    age_unit: AgeUnit | None = None
    sex: PatientSex | None = None
    country: Place | None = None
    region: Place | None = None
    city: Place | None = None
    recruiting_only: bool = True

    @field_validator("country", "region", "city")
    @classmethod
    def _place(cls, value: str | None) -> str | None:
        if value is None:
            return None
        check_storable(value)
        return value.strip() or None

    @model_validator(mode="after")
    def _age_with_unit(self) -> MatchIn:
        if self.age is not None and self.age_unit is None:
            raise ValueError("age_unit: an age needs its unit (days, weeks, months or years)")
        if (
            self.age is not None
            and self.age_unit is not None
            and age_in_days(self.age, self.age_unit) > MAX_AGE_DAYS
        ):
            raise ValueError("age: older than anyone lives; check the number and the unit")
        if (self.region or self.city) and not self.country:
            raise ValueError("country: choose the country first, then the region or city")
        return self

    @property
    def age_days(self) -> float | None:
        if self.age is None or self.age_unit is None:
            return None
        return age_in_days(self.age, self.age_unit)

    @property
    def age_text(self) -> str:
        if self.age is None or self.age_unit is None:
            return ""
        number = f"{self.age:g}"
        unit = self.age_unit.value[:-1] if self.age == 1 else self.age_unit.value
        return f"{number} {unit}"


# -- saved items -----------------------------------------------------------------------------


class SavedKind(StrEnum):
    library_page = "library_page"
    discussion = "discussion"


class SaveIn(BaseModel):
    """Save one item: a library page by its slug, or a discussion by its id."""

    model_config = ConfigDict(extra="forbid")

    kind: SavedKind
    slug: Annotated[str, Field(max_length=80)] | None = None
    discussion_id: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None

    @model_validator(mode="after")
    def _target(self) -> SaveIn:
        if self.kind == SavedKind.library_page and not self.slug:
            raise ValueError("slug: name the library page to save")
        if self.kind == SavedKind.discussion and self.discussion_id is None:
            raise ValueError("discussion_id: name the discussion to save")
        return self


def read_match(params: Mapping[str, str] | Any) -> MatchIn:
    """The match criteria from a query string (the page's form and the API alike): empty
    fields are absent; `recruiting_only` takes the last value given (the form sends a
    hidden "false" before the checkbox's "true"). Raises Invalid naming the first bad field."""
    from app.core.errors import Invalid

    data: dict[str, Any] = {}
    for name in ("age", "age_unit", "sex", "country", "region", "city", "recruiting_only"):
        values = params.getlist(name) if hasattr(params, "getlist") else [params.get(name)]
        values = [v for v in values if v is not None]
        if values and values[-1] != "":
            data[name] = values[-1]
    try:
        return MatchIn.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        message = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        loc = [str(p) for p in err.get("loc", ())]
        if loc:
            field_name = loc[0]
        else:  # a rule across fields says which field it is about: "age_unit: ..."
            field_name, _, message = message.partition(": ")
        raise Invalid(f"{field_name}: {message}", field=field_name) from None
