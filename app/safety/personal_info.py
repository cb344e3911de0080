"""Personal information in a post, found before it is published.

Five kinds: phone numbers (the `phonenumbers` matcher at its VALID level, in the member's
region), e-mail addresses, street addresses, dates of birth (a date near "born", "DOB",
"birthday", ...) and record or ID numbers (a number near "MRN", "member ID", "insurance",
"SSN", ... or in the US SSN form).

Medical text must pass clean, so every detector is narrow on purpose, and an allow-list of
spans (URLs, NCT trial numbers, ICD codes, doses, lab values, temperatures) removes anything
found inside them. Everything here is precompiled regular expressions; the phone matcher,
the one slow part, only runs on runs of seven or more digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from enum import StrEnum
from itertools import islice
from typing import Any

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

DEFAULT_REGION = "US"


class Kind(StrEnum):
    phone = "phone"
    email = "email"
    address = "address"
    date_of_birth = "date_of_birth"
    record_number = "record_number"


LABELS = {
    Kind.phone: "a phone number",
    Kind.email: "an e-mail address",
    Kind.address: "a street address",
    Kind.date_of_birth: "a date of birth",
    Kind.record_number: "a record or ID number",
}

# What "Remove it" puts in the finding's place.
PLACEHOLDERS = {
    Kind.phone: "[phone number removed]",
    Kind.email: "[e-mail removed]",
    Kind.address: "[address removed]",
    Kind.date_of_birth: "[date removed]",
    Kind.record_number: "[number removed]",
}


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    text: str
    start: int
    end: int
    field: str = "body"  # offsets are into this field of the post: "title" or "body"

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS[self.kind]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["kind"] = self.kind.value
        return out


# -- phone numbers -------------------------------------------------------------------------

# A run of digits and the separators people type inside phone numbers (no newlines, no
# commas: "1,500" is a count). Only runs with seven or more digits go to the matcher.
_PHONE_CANDIDATE = re.compile(r"(?<![\w/])(?:\+|00)?\(?\d[\d \t().\-]{5,24}\d(?![\w/])")
_DIGIT = re.compile(r"\d")
# A post with dozens of phone numbers has made its point: the matcher (about 50 us a call)
# stops there, so a 20,000-character body of numbers still checks in a few milliseconds.
MAX_PHONE_CANDIDATES = 40


def _phones(text: str, region: str) -> Iterator[Finding]:
    tried = 0
    for candidate in _PHONE_CANDIDATE.finditer(text):
        digits = len(_DIGIT.findall(candidate.group()))
        if digits < 7 or digits > 17:
            continue
        tried += 1
        if tried > MAX_PHONE_CANDIDATES:
            return
        base = candidate.start()
        try:
            for match in PhoneNumberMatcher(candidate.group(), region, leniency=Leniency.VALID):
                yield Finding(Kind.phone, match.raw_string, base + match.start, base + match.end)
        except phonenumbers.NumberParseException:  # pragma: no cover - the matcher catches
            continue


# -- e-mail addresses -----------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b"
)


# -- street addresses -----------------------------------------------------------------------

_STREET_TYPES = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|"
    r"Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Crescent|Close|Square|Sq|Grove|"
    r"Gardens|Mews|Row|Trail|Trl|Pike|Alley|Plaza|Loop"
)
# A name word: capitalised (Main, Oak, MacArthur) or an ordinal (5th, 42nd). Lowercase words
# are not street names here, so "3 bone marrow biopsies" or "a 4 lane road" never match.
_NAME_WORD = r"(?:[A-Z][A-Za-z'\-]+|\d{1,3}(?:st|nd|rd|th))"
_UNIT = r"(?:,?\s*(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|#)\s*[A-Za-z0-9\-]{1,6})?"
# a city, then a US state and ZIP, a Canadian province and postal code, or an Australian
# state and postcode
_US_STATE_ZIP = (
    r"(?:,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)?(?:,?\s+(?:[A-Z]{2}\s+\d{5}(?:-\d{4})?|"
    r"[A-Z]{2}\s+[A-Z]\d[A-Z]\s?\d[A-Z]\d|(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)\s+\d{4}))?"
)
_UK_POSTCODE = r"(?:,?\s+[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2})?"

_ADDRESS = re.compile(
    "|".join(
        (
            # 1600 Pennsylvania Ave NW, Apt 4, Washington, DC 20500; 10 Downing Street
            rf"\b\d{{1,6}}[A-Za-z]?,?\s+(?:[NSEW]\.?\s+)?(?:{_NAME_WORD}\s+){{1,3}}"
            rf"(?:{_STREET_TYPES})\b\.?(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
            rf"{_UNIT}{_US_STATE_ZIP}{_UK_POSTCODE}",
            # Hauptstrasse 5, Musterstr. 12a, Lindenweg 3
            r"\b[A-Z\u00c4\u00d6\u00dc][a-z\u00e4\u00f6\u00fc\u00df]+"
            r"(?:stra\u00dfe|strasse|str\.|weg|gasse|platz|allee|laan|straat|gatan|vej|veien)"
            r"\s+\d{1,4}[a-z]?\b",
            # 12 rue de Rivoli, 5 avenue des Champs
            r"\b\d{1,4},?\s+(?:rue|avenue|boulevard|bd|chemin|all\u00e9e|impasse|quai)\s+"
            r"(?:(?:de|du|des|la|le|l')\s*){0,2}[A-Z\u00c0-\u00dd][\w\-]+",
            # Calle Mayor 3, Via Roma 10, Rua Augusta 27
            r"\b(?:Calle|Avenida|Via|Viale|Piazza|Corso|Rua|Travessa|Carrer)\s+"
            r"(?:(?:de|del|della|di|da|do|dos|la)\s+){0,2}[A-Z\u00c0-\u00dd][\w\-]+"
            r"(?:\s+[A-Z\u00c0-\u00dd][\w\-]+)?,?\s+(?:n\.?\s*|no\.?\s*)?\d{1,4}\b",
            # Av. Paulista, 1578 (a name written as names are: "Av. ANC 1500" is an average)
            r"\bAv\.\s+(?:(?:de|da|do|dos|das)\s+)?[A-Z\u00c0-\u00dd][a-z\u00e0-\u00ff][\w\-]*"
            r"(?:\s+[A-Z\u00c0-\u00dd][a-z\u00e0-\u00ff][\w\-]*)?,?\s+\d{1,5}\b",
            # P.O. Box 1234
            r"\bP\.?\s?O\.?\s+Box\s+\d{1,6}\b",
        )
    )
)


def _addresses(text: str) -> Iterator[Finding]:
    for m in _ADDRESS.finditer(text):
        found = m.group().rstrip(" ,")
        yield Finding(Kind.address, found, m.start(), m.start() + len(found))


# -- dates of birth -----------------------------------------------------------------------

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_DATE = re.compile(
    "|".join(
        (
            r"\b\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})\b",  # 3/4/2019, 03.04.19
            r"\b\d{4}-\d{1,2}-\d{1,2}\b",  # 2019-04-03
            rf"\b{_MONTH}\s+{_DAY}(?:,?\s+\d{{4}})?\b",  # April 3, 2019; May 3rd
            rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?\b",  # 3 April 2019
        )
    ),
    re.IGNORECASE,
)
_BIRTH_WORD = re.compile(
    r"(?=[bdgnBDGN])\b(?:born|D\.?O\.?B\b\.?|date\s+of\s+birth|birth\s*date|birthday|b-day|bday|"
    r"n\u00e9e?\s+le|geboren|nacido|nacida)",
    re.IGNORECASE,
)
_BIRTH_WINDOW = 40  # characters either side of the word
MAX_FINDINGS_PER_KIND = 50  # enough to make the point; bounds the work on hostile input


# A month and a day without a year ("birthday: 12/25") is a date only right after the word:
# anywhere near it, "3/4" is as likely a fraction.
_SHORT_DATE_AFTER = re.compile(
    r"(?:\s|:|-|=|\u2013|\bis\b|\bwas\b|\bon\b)*(?<![\d/])(?P<date>\d{1,2}/\d{1,2})(?![\d/])",
    re.IGNORECASE,
)


def _dates_of_birth(text: str) -> Iterator[Finding]:
    for n, word in enumerate(_BIRTH_WORD.finditer(text)):
        if n >= MAX_FINDINGS_PER_KIND:
            return
        lo = max(0, word.start() - _BIRTH_WINDOW)
        hi = min(len(text), word.end() + _BIRTH_WINDOW)
        for date in _DATE.finditer(text, lo, hi):
            if _is_date(date.group()):
                yield Finding(Kind.date_of_birth, date.group(), date.start(), date.end())
        short = _SHORT_DATE_AFTER.match(text, word.end(), hi)
        if short is not None and _is_month_and_day(short.group("date")):
            yield Finding(Kind.date_of_birth, short.group("date"), *short.span("date"))


def _is_month_and_day(text: str) -> bool:
    a, b = (int(part) for part in text.split("/"))
    return 1 <= a <= 31 and 1 <= b <= 31 and (a <= 12 or b <= 12)


_NUMERIC_DATE = re.compile(r"(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})")


def _is_date(text: str) -> bool:
    """A numeric date whose parts could be a day and a month (not "10-20-30 mg")."""
    m = _NUMERIC_DATE.fullmatch(text)
    if m is None:
        return True
    a, b, c = (int(g) for g in m.groups())
    if len(m.group(1)) == 4:  # yyyy-mm-dd
        return 1 <= b <= 12 and 1 <= c <= 31
    return 1 <= a <= 31 and 1 <= b <= 31 and (a <= 12 or b <= 12)


# -- record and ID numbers ------------------------------------------------------------------

_ID_NUMBER = (
    r"(?P<id>\d[A-Z][A-Z\d]\d-?[A-Z][A-Z\d]\d-?[A-Z]{2}\d{2}\b|"  # a Medicare MBI: 1EG4-TE5-MK73
    r"[A-Z]{0,4}[\-\s]?\d[\d\-\s]{2,18}\d[A-Z]{0,2}|[A-Z]{1,4}\d{4,14}|\d{4,})"
)
# The lookaheads on first letters (here and below) let the scan skip most positions
# without trying the whole alternation: several times faster on a long post.
_RECORD_WORD = re.compile(
    r"(?=[mpsgchnidMPSGCHNID])\b(?:MRN|med(?:ical)?\s+rec(?:ord)?s?(?:\s+(?:number|no\.?|num|#))?|"
    r"patient\s+(?:ID|number|no\.?|#)|member\s+(?:ID|number|no\.?|#)|"
    r"subscriber\s+(?:ID|number)|policy\s+(?:number|no\.?|#)|group\s+(?:number|no\.?)|"
    r"chart\s+(?:number|no\.?|#)|hospital\s+(?:number|no\.?)|NHS\s+(?:number|no\.?)|"
    r"insurance(?:\s+(?:ID|card|number|no\.?|#|policy))*|SSN|SS\s?#|"
    r"medicare(?:\s+(?:ID|card|number|no\.?|#))*|medicaid(?:\s+(?:ID|card|number|no\.?|#))*|"
    r"social\s+security(?:\s+(?:number|no\.?|#))?|(?:ID|I\.D\.)\s+(?:number|no\.?|#))",
    re.IGNORECASE,
)
_RECORD_TAIL = re.compile(
    r"(?:\s*(?:is|was|:|#|=|-|number|no\.?|of|reads|\u2013))*\s*" + _ID_NUMBER, re.IGNORECASE
)
_SSN = re.compile(r"\d\d\d-\d\d-\d\d\d\d")
_SSN_NEIGHBOUR = re.compile(r"[\w\-]")


def _is_ssn(text: str, start: int, end: int) -> bool:
    """The US form, standing alone, with the parts the SSA never issues left out."""
    if start > 0 and _SSN_NEIGHBOUR.match(text, start - 1):
        return False
    if end < len(text) and _SSN_NEIGHBOUR.match(text, end):
        return False
    area, group, serial = text[start : start + 3], text[start + 4 : start + 6], text[end - 4 : end]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


_MONEY_BEFORE = re.compile(r"[$\u00a3\u20ac]\s*$")
# "my insurance 2024 plan", "insurance 2024-2025": a year, or two, is no record number
_YEARS = re.compile(r"(?:19|20)\d\d(?:\s*[\-/\u2013]\s*(?:19|20)?\d\d)?")


def _records(text: str) -> Iterator[Finding]:
    for word in _RECORD_WORD.finditer(text):
        m = _RECORD_TAIL.match(text, word.end())
        if m is None:
            continue
        token = m.group("id").strip()
        start = m.start("id") + (len(m.group("id")) - len(m.group("id").lstrip()))
        digits = len(_DIGIT.findall(token))
        if digits < 4 or _YEARS.fullmatch(token):
            continue
        if _MONEY_BEFORE.search(text, max(0, start - 2), start):
            continue
        yield Finding(Kind.record_number, token, start, start + len(token))
    for m in _SSN.finditer(text):
        if _is_ssn(text, m.start(), m.end()):
            yield Finding(Kind.record_number, m.group(), m.start(), m.end())


# -- the allow-list ---------------------------------------------------------------------------

_UNITS = (
    r"mg|mcg|\u00b5g|ug|g|kg|mL|ml|L|dL|IU|units?|mmol|mol|mEq|mm|cm|"
    r"mmHg|bpm|%|cells|k/uL|/uL|/mm3|x\s?10\^?\d+|\u00b0\s?[CF]?|degrees?"
)
_ALLOWED = re.compile(
    "|".join(
        (
            r"\bhttps?://\S+",  # URLs (their paths hold digits)
            r"\bwww\.\S+",
            r"\bNCT\d{8}\b",  # ClinicalTrials.gov numbers
            r"\b(?:PMID|PMCID|DOI)[:\s]*\S+",
            r"\b[A-TV-Z]\d{2}(?:\.\d{1,4}[A-Z]?)?\b",  # ICD-10 codes
            rf"\b\d[\d,.]*\s*(?:-|to|\u2013)?\s*\d*[\d,.]*\s*(?:{_UNITS})(?:/(?:kg|day|d|m2|dL|L))?"
            r"(?![A-Za-z])",  # doses, lab values, temperatures
        )
    ),
)


def _allowed_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _ALLOWED.finditer(text)]


def _inside(finding: Finding, spans: list[tuple[int, int]]) -> bool:
    return any(lo <= finding.start and finding.end <= hi for lo, hi in spans)


# -- the check ----------------------------------------------------------------------------


def find_personal_information(text: str, *, region: str | None = None) -> list[Finding]:
    """Every piece of personal information in `text`, in order, without overlaps (the
    first and longest wins). `region` is the member's country (ISO 3166 alpha-2)."""
    region = (region or DEFAULT_REGION).upper()
    found: list[Finding] = []
    for detector in (
        (Finding(Kind.email, m.group(), m.start(), m.end()) for m in _EMAIL.finditer(text)),
        _records(text),
        _dates_of_birth(text),
        _phones(text, region),
        _addresses(text),
    ):
        found.extend(islice(detector, MAX_FINDINGS_PER_KIND))
    if not found:
        return []
    spans = _allowed_spans(text)
    kept: list[Finding] = []
    for finding in sorted(found, key=lambda f: (f.start, -(f.end - f.start))):
        if finding.kind not in (Kind.email, Kind.address) and _inside(finding, spans):
            continue
        if kept and finding.start < kept[-1].end:
            continue  # overlaps one already kept
        kept.append(finding)
    return kept


def check_post(title: str | None, body: str, *, region: str | None = None) -> list[Finding]:
    """Findings in a post's title and body; each finding's offsets are into its `field`."""
    found = []
    if title:
        found = [
            Finding(f.kind, f.text, f.start, f.end, field="title")
            for f in find_personal_information(title, region=region)
        ]
    return found + find_personal_information(body, region=region)


def remove_findings(text: str, findings: list[Finding]) -> str:
    """The text with each finding replaced by its neutral placeholder (the "Remove it" of a
    composer without JavaScript)."""
    out = []
    at = 0
    for f in sorted(findings, key=lambda f: f.start):
        if f.start < at or text[f.start : f.end] != f.text:
            continue
        out.append(text[at : f.start])
        out.append(f.placeholder)
        at = f.end
    out.append(text[at:])
    return "".join(out)
