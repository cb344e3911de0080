"""The personal-information detectors, case by case: what they must find, what medical text
must pass clean, the whole seed exchange as negatives, and their cost."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.safety import personal_info
from app.safety.personal_info import Kind, check_post, find_personal_information, remove_findings
from tests.growth import MAX_GROWTH, growth

P, E, A, D, R = Kind.phone, Kind.email, Kind.address, Kind.date_of_birth, Kind.record_number

# (text, region, [(kind, found text), ...])
FOUND: list[tuple[str, str | None, list[tuple[Kind, str]]]] = [
    # phone numbers, in the member's region
    ("Call me at 212-555-0187 any time", None, [(P, "212-555-0187")]),
    ("my cell is (202) 456-1111", None, [(P, "(202) 456-1111")]),
    ("text 202.456.1111 after 5", None, [(P, "202.456.1111")]),
    ("reach me on +1 212 555 0187", None, [(P, "+1 212 555 0187")]),
    ("2024561111 is my number", None, [(P, "2024561111")]),
    ("London office +44 20 7946 0958", None, [(P, "+44 20 7946 0958")]),
    ("ring 020 7946 0958 tomorrow", "GB", [(P, "020 7946 0958")]),
    ("mobile 07911 123456", "GB", [(P, "07911 123456")]),
    ("Handy: 030 12345678", "DE", [(P, "030 12345678")]),
    ("appelez le 01 42 68 53 00", "FR", [(P, "01 42 68 53 00")]),
    ("call +61 2 9374 4000 in Sydney", None, [(P, "+61 2 9374 4000")]),
    ("my husband's number +964 770 123 4567", None, [(P, "+964 770 123 4567")]),
    ("Phone: 416-555-0123 (Toronto)", "CA", [(P, "416-555-0123")]),
    # e-mail addresses
    ("write to jane.doe@example.com please", None, [(E, "jane.doe@example.com")]),
    ("Email: SONIA85@mail.example.org", None, [(E, "SONIA85@mail.example.org")]),
    ("me+forum@example.co.uk works", None, [(E, "me+forum@example.co.uk")]),
    ("contact (john_bishop@example.net)", None, [(E, "john_bishop@example.net")]),
    ("first.last-name@sub.domain.example", None, [(E, "first.last-name@sub.domain.example")]),
    # street addresses, US
    ("We live at 123 Main Street.", None, [(A, "123 Main Street.")]),
    ("send it to 42 Oak Ave, Springfield", None, [(A, "42 Oak Ave, Springfield")]),
    (
        "1600 Pennsylvania Ave NW, Washington, DC 20500",
        None,
        [(A, "1600 Pennsylvania Ave NW, Washington, DC 20500")],
    ),
    ("Apt at 77 Lake Shore Dr, Apt 4B", None, [(A, "77 Lake Shore Dr, Apt 4B")]),
    ("the clinic on 5 W 42nd St", None, [(A, "5 W 42nd St")]),
    ("my place, 9 Cherry Tree Lane", None, [(A, "9 Cherry Tree Lane")]),
    ("It is 310 Elm Blvd Suite 200", None, [(A, "310 Elm Blvd Suite 200")]),
    ("mail P.O. Box 1234", None, [(A, "P.O. Box 1234")]),
    (  # a Canadian postal code goes with the street
        "123 Main St W, Toronto, ON M5V 2T6 is us",
        None,
        [(A, "123 Main St W, Toronto, ON M5V 2T6")],
    ),
    ("Unit 4/22 Smith St, Sydney NSW 2000", None, [(A, "22 Smith St, Sydney NSW 2000")]),
    ("moramos na Av. Paulista, 1578", None, [(A, "Av. Paulista, 1578")]),
    ("PO Box 77, Rochester", None, [(A, "PO Box 77")]),
    # street addresses, international
    ("10 Downing Street, London SW1A 2AA", None, [(A, "10 Downing Street, London SW1A 2AA")]),
    ("flat at 221B Baker Street", None, [(A, "221B Baker Street")]),
    ("wir wohnen in der Hauptstra\u00dfe 5", None, [(A, "Hauptstra\u00dfe 5")]),
    ("Musterstr. 12a, Berlin", None, [(A, "Musterstr. 12a")]),
    ("Lindenweg 3 in Bonn", None, [(A, "Lindenweg 3")]),
    ("j'habite au 12 rue de Rivoli", None, [(A, "12 rue de Rivoli")]),
    ("5 avenue des Champs", None, [(A, "5 avenue des Champs")]),
    ("vivo en Calle Mayor 3", None, [(A, "Calle Mayor 3")]),
    ("a casa in Via Roma 10", None, [(A, "Via Roma 10")]),
    ("Rua Augusta 27, Lisboa", None, [(A, "Rua Augusta 27")]),
    # dates of birth
    ("He was born on 3/4/2019", None, [(D, "3/4/2019")]),
    ("DOB: 01/02/1960", None, [(D, "01/02/1960")]),
    ("D.O.B. 1960-02-01", None, [(D, "1960-02-01")]),
    ("his birthday is May 3rd", None, [(D, "May 3rd")]),
    ("my son (born April 3, 2019) has neutropenia", None, [(D, "April 3, 2019")]),
    ("date of birth 14 July 1985", None, [(D, "14 July 1985")]),
    ("Birth date: 12.11.1979", None, [(D, "12.11.1979")]),
    ("June 5th, 2021 is when she was born", None, [(D, "June 5th, 2021")]),
    ("my daughter's bday is Dec 24", None, [(D, "Dec 24")]),
    ("born 3rd of March 2020 at 32 weeks", None, [(D, "3rd of March 2020")]),
    ("birthday: 12/25", None, [(D, "12/25")]),  # a month and a day, no year
    ("my son was born on 12/25, a Christmas baby", None, [(D, "12/25")]),
    ("DOB 31/12 (UK order)", None, [(D, "31/12")]),
    # record and ID numbers
    ("MRN 12345678", None, [(R, "12345678")]),
    ("my MRN is 00456123", None, [(R, "00456123")]),
    ("Medical record number: 00456123", None, [(R, "00456123")]),
    ("patient ID A1234567", None, [(R, "A1234567")]),
    ("my member ID is XJH123456789", None, [(R, "XJH123456789")]),
    ("insurance policy # ABC1234567", None, [(R, "ABC1234567")]),
    ("insurance number 987654321", None, [(R, "987654321")]),
    ("SSN 123-45-6789", None, [(R, "123-45-6789")]),
    ("his social security number is 078-05-1120", None, [(R, "078-05-1120")]),
    ("my number 123-45-6789 got leaked", None, [(R, "123-45-6789")]),
    ("NHS number 943 476 5919", None, [(R, "943 476 5919")]),
    ("subscriber ID W123456789", None, [(R, "W123456789")]),
    ("chart # 5566778", None, [(R, "5566778")]),
    ("Medicare number 1EG4-TE5-MK73", None, [(R, "1EG4-TE5-MK73")]),  # the US MBI form
    ("my medicaid ID is 123456789012", None, [(R, "123456789012")]),
    ("MRN 20241234", None, [(R, "20241234")]),  # a year's digits in a longer number
    # several in one post, in order
    (
        "Jane, DOB 1/2/1990, jane@example.com, 212-555-0187",
        None,
        [(D, "1/2/1990"), (E, "jane@example.com"), (P, "212-555-0187")],
    ),
]

# Medical text, the seed's kind of writing, and things that look a little like the above.
CLEAN: list[str] = [
    "ANC 310",
    "his neutrophil count is very low (310)",
    "count below 1,500",
    "A count below 500, as in your son's case",
    "his LYM 4.2 it mean not Hight cuz in range but in percentage high %82",
    "lym % very high about %82",
    "temperatures fluctuating from 95.7 to as high as 99.8",
    "fever of 101.3\u00b0F overnight",
    "38.5 \u00b0C this morning",
    "G-CSF 5 mcg/kg daily",
    "800 mg ibuprofen",
    "filgrastim 300 mcg",
    "WBC 3.2 x10^9/L, ANC 1.1",
    "platelets 150,000 to 450,000 per microliter",
    "hemoglobin 11.2 g/dL",
    "Back in 2001 my white blood cell count dipped to high 900",
    "A second bout 2016 with absolute neutrophil count around 800",
    "Being in my mid 60s",
    "a 1-year-old",
    "over 3 weeks no response",
    "5 days course of Augmentin",
    "3 bone marrow biopsies",
    "25 days ago made blood test",
    "before2 weeks had some Night sweats",
    "ICD-10 D70.9 and D70.4",
    "code D72.819 on the claim",
    "trial NCT01234567 is recruiting",
    "see https://clinicaltrials.gov/study/NCT04567890?term=2125550187",
    "http://mayocl.in/1mtmR63",
    "https://connect.mayoclinic.org/search/discussions/?search=ME%2FCFS",
    "www.example.org/page/20245611110",
    "PMID: 31234567",
    "@sonia85, What does your husbands doctor think",
    "Dear @colleenyoung i need your help",
    "as John (@johnbishop) mentioned",
    "my birthday was rough this year",
    "he was born with it",
    "born in 2019",
    "she was born 3 weeks early",
    "born at 32 weeks, about 3/4 of the usual weight",  # a fraction, not right after
    "born with 2/3 of a kidney",
    "my birthday party had 12/40 guests",  # no month has 40 days
    "insurance paid $2000 of it",
    "my insurance covers 80%",
    "Medicare covers 80% of it",
    "on medicare part B since 2019",
    "insurance deductible is 1,500",
    "my insurance 2024 plan changed",  # a year is not a record number
    "Insurance: 2025 open enrollment starts",
    "the insurance 2024-2025 year",
    "member since 2015",
    "patient for 12 years",
    "the record shows 2 infections",
    "10-20-30 mg taper",
    "dose 1-2-3 days",
    "from 2019-2021 I was on G-CSF",
    "a 4 lane road to the clinic",
    "Av. ANC 1500 over the month",
    "we walk 2 miles a day",
    "take 1 tablet twice a day",
    "Room 12 on the 3rd floor",
    "the 2 drive to Rochester took 6 hours",
    "I had 3 rounds of chemo",
    "ratio 1:2:3",
    "blood pressure 120/80",
    "vitamin B12 level 450 pg/mL",
    "CD34 count 12 cells",
    "2.5 million cells",
    "tested on 3/4 of the samples",
    "version 2.0.1 of the app",
    "Between 09:00 and 17:30",
    "score 1234 points",
    "2,000,000 neutrophils per liter",
    "the first 1234567 digits of pi",  # seven digits, not a valid number anywhere near
]


@pytest.mark.parametrize(("text", "region", "expected"), FOUND, ids=[c[0][:40] for c in FOUND])
def test_personal_information_is_found(
    text: str, region: str | None, expected: list[tuple[Kind, str]]
) -> None:
    found = find_personal_information(text, region=region)
    assert [(f.kind, f.text) for f in found] == expected
    for f in found:
        assert text[f.start : f.end] == f.text


@pytest.mark.parametrize("text", CLEAN, ids=[c[:40] for c in CLEAN])
def test_medical_text_passes_clean(text: str) -> None:
    assert find_personal_information(text) == []


def test_there_are_at_least_a_hundred_cases() -> None:
    assert len(FOUND) + len(CLEAN) >= 100
    assert len(FOUND) >= 40 and len(CLEAN) >= 40


SEED = Path(__file__).resolve().parents[2] / "app/demo/data/connect-exchange-neutropenia.txt"


def test_replaying_the_whole_seed_exchange_raises_no_finding() -> None:
    text = SEED.read_text(encoding="utf-8")
    assert find_personal_information(text) == []
    for region in ("US", "GB", "IQ", "DE"):
        for line in text.splitlines():
            assert find_personal_information(line, region=region) == [], line


def test_the_member_region_decides_national_numbers() -> None:
    assert find_personal_information("mobile 07911 123456", region="US") == []
    assert [f.kind for f in find_personal_information("mobile 07911 123456", region="gb")] == [P]
    # an unknown region falls back to international numbers only, and never fails
    assert [f.text for f in find_personal_information("+1 212 555 0187", region="ZZ")] == [
        "+1 212 555 0187"
    ]


def test_title_findings_say_they_are_in_the_title() -> None:
    found = check_post("Call 212-555-0187", "e-mail me: a@example.com")
    assert [(f.field, f.kind, f.start) for f in found] == [("title", P, 5), ("body", E, 11)]
    assert found[0].as_dict() == {
        "kind": "phone",
        "text": "212-555-0187",
        "start": 5,
        "end": 17,
        "field": "title",
    }


def test_remove_it_puts_a_neutral_placeholder_in_place() -> None:
    text = "Call 212-555-0187 or jane@example.com. ANC 310."
    cleaned = remove_findings(text, find_personal_information(text))
    assert cleaned == "Call [phone number removed] or [e-mail removed]. ANC 310."
    assert find_personal_information(cleaned) == []
    # a finding that no longer matches the text (stale, tampered) is left alone
    stale = find_personal_information("xx 212-555-0187")
    assert remove_findings("nothing here at all", stale) == "nothing here at all"


def test_the_check_grows_linearly_with_the_text() -> None:
    """The issue's bound, well under 1 ms per KB on medical prose, is the bench's figure
    (`python -m bench.safety_checks`); here the shape that keeps it: the seed exchange eight
    times over costs about eight times one copy, never the square."""
    text = SEED.read_text(encoding="utf-8") * 8
    assert growth(find_personal_information, text) < MAX_GROWTH


@pytest.mark.parametrize(
    "hostile",
    [
        "Call 212-555-0187 now\n" * 900,
        "born 1/1/2000 " * 1400,
        "jane@example.com " * 1200,
        "12 Main Street " * 1300,
        "MRN " * 5000,
        "1234567 " * 2500,
        "9" * 20_000,
        "-" * 20_000,
    ],
    ids=["phones", "births", "emails", "addresses", "keywords", "digits", "nines", "dashes"],
)
def test_a_hostile_twenty_thousand_characters_stay_bounded(hostile: str) -> None:
    """The work is capped: at most MAX_PHONE_CANDIDATES calls to the phone matcher and
    MAX_FINDINGS_PER_KIND findings of a kind, so the check of a hostile body stays linear: a few
    milliseconds per KB at most."""
    calls = 0
    real = personal_info.PhoneNumberMatcher

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    personal_info.PhoneNumberMatcher = counting  # type: ignore[assignment,misc]
    try:
        found = find_personal_information(hostile)
    finally:
        personal_info.PhoneNumberMatcher = real  # type: ignore[misc]
    assert calls <= personal_info.MAX_PHONE_CANDIDATES
    assert len(found) <= 5 * personal_info.MAX_FINDINGS_PER_KIND
    # linear even for a body built to be slow (a quadratic check took seconds for these 20 KB)
    assert growth(find_personal_information, hostile) < MAX_GROWTH
