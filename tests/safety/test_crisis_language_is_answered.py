"""Crisis language: the corpus of first-person statements that must be answered, and the
third-person, clinical and idiomatic uses that must not fire; the resources by country."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.safety import crisis
from app.safety.crisis import detect_crisis, resources_for
from tests.growth import MAX_GROWTH, growth

SELF_HARM = [
    "I want to end it tonight",
    "I want to end it all.",
    "I'm going to kill myself",
    "im gonna kill myself tonight",
    "I am planning to end my life",
    "I've decided to take my own life",
    "I took all my pills",
    "I just took a whole bottle of sleeping pills",
    "I have taken all of my tablets",
    "I swallowed the whole box of painkillers an hour ago",
    "I overdosed on purpose",
    "I took an overdose",
    "I just took an overdose an hour ago",
    "I plan to overdose tonight",
    "I'm going to jump off a bridge",
    "i am going to jump in front of a train",
    "I swallowed 30 tablets of paracetamol",
    "I can't go on anymore",
    "I can\u2019t go on like this",
    "I cannot take it anymore",
    "I don't want to live anymore",
    "i dont want to wake up tomorrow",
    "i want to die",
    "I just want to die",
    "I wish I was dead",
    "I wish I were never born",
    "I feel suicidal tonight",
    "I'm so suicidal right now",
    "I cut myself again",
    "I keep hurting myself",
    "Everyone would be better off without me",
    "My family would be better off without me.",
    "I have no reason to live",
    "There is no point in living",
    "This is my goodbye note",
    "I've written goodbye letters to my kids",
    "After 10 years of this disease I am ready to end it",
    "Nobody listens. I want to kill myself",
]
EMERGENCY = [
    "my baby is not breathing",
    "My baby isn't breathing what do I do",
    "my son has stopped breathing",
    "HELP my husband stopped breathing",
    "My daughter is turning blue",
    "my newborn is unresponsive",
    "My son won't wake up",
    "my wife can't wake up",
    "I can't breathe",
    "I think I'm having a heart attack",
    "I'm having a seizure",
    "Im having crushing chest pain",
    "I'm bleeding heavily after the biopsy",
    "I am coughing up blood",
    "the bleeding won't stop",
    "my son is having a seizure right now",
    "My husband collapsed and isn't responding",
    "my dad is not responding",
    "My 2 year old swallowed a bottle of pills",
    "my toddler got into a whole bottle of iron pills",
]
NOT_CRISIS = [
    # the issue's own examples
    "acetaminophen overdose can damage the liver",
    "cutting back on G-CSF",
    "800 mg ibuprofen",
    "this fatigue is killing me",
    "my hematologist said it is not life threatening",
    # third person and reported
    "She said she wanted to kill herself",
    "My friend told me he wants to end his life",
    "he said I want to die but he's 4 and meant bedtime",
    "Patients sometimes say they want to die during chemo",
    "What to do if someone says they are suicidal?",
    "His brother took all his pills once, years ago",
    "my neighbour said her baby is not breathing well through the nose",
    # clinical
    "Overdose of acetaminophen is dangerous",
    "suicidal thoughts are a side effect listed for this drug",
    "the risk of self-harm is higher in teenagers",
    "Breathing problems can happen with severe infections",
    "the nurse checked whether he was breathing normally",
    "I took all my pills as prescribed",
    "I took all my pills with breakfast",
    "I took my pills at 8",
    "I had an overdose of vitamin D once, years ago, and learned",
    "He took an overdose in 2019 and survived",
    "The risk of an overdose goes up if I take too many tablets at once",
    "I'm going to jump off the deep end with this new diet",
    "I swallowed 2 tablets with water",
    "my son took all his meds without a fight",
    "my husband had a seizure last year",
    "my son has seizures since birth",
    "my son is having a seizure workup next week",
    "my mom isn't responding to the new treatment",
    "my dad is not responding to texts",
    "my daughter swallowed her pills easily today",
    "chest pain can be a sign of a heart attack",
    "is bleeding after a bone marrow biopsy normal?",
    # idioms and ordinary speech
    "I'm dying to know the results",
    "This heat is killing me",
    "my back is killing me",
    "I could kill for a coffee",
    "I'm cutting down on sugar",
    "I want to take my life back from this disease",
    "I want to end this infection for good",
    "I can't wait anymore for the appointment",
    "I don't want to die from this",
    "I would never hurt myself",
    "I'm not going to end it, I promise",
    "If you ever feel like you want to die, call 988",
    "Phrases like I want to die should be taken seriously",
    "I'm sick and tired of being sick and tired",
    "the baby is breathing fine now",
    "I can breathe again after the inhaler",
    "we are not medical professionals",
]


@pytest.mark.parametrize("text", SELF_HARM)
def test_first_person_self_harm_fires(text: str) -> None:
    signal = detect_crisis(text)
    assert signal is not None and signal.kind == "self_harm"
    assert text[signal.start : signal.end] == signal.text


@pytest.mark.parametrize("text", EMERGENCY)
def test_an_emergency_happening_now_fires(text: str) -> None:
    signal = detect_crisis(text)
    assert signal is not None and signal.kind == "emergency"


@pytest.mark.parametrize("text", NOT_CRISIS)
def test_third_person_clinical_and_idiomatic_uses_do_not_fire(text: str) -> None:
    assert detect_crisis(text) is None


def test_the_corpus_is_big_enough() -> None:
    assert len(SELF_HARM) + len(EMERGENCY) + len(NOT_CRISIS) >= 60


SEED = Path(__file__).resolve().parents[2] / "app/demo/data/connect-exchange-neutropenia.txt"


def test_the_seed_exchange_is_not_a_crisis() -> None:
    assert detect_crisis(SEED.read_text(encoding="utf-8")) is None


def test_a_crisis_in_the_title_or_in_a_long_post_is_found() -> None:
    assert detect_crisis("I can't go on", "asking for a friend") is not None
    long = SEED.read_text(encoding="utf-8") + "\nI want to end it tonight.\n"
    signal = detect_crisis(long)
    assert signal is not None and long[signal.start : signal.end] == "I want to end it"


def test_an_idiom_in_one_sentence_does_not_hide_a_crisis_in_the_next() -> None:
    assert detect_crisis("This fatigue is killing me. I want to end it tonight.") is not None


def test_every_lexicon_pattern_is_exercised_by_the_corpus() -> None:
    """A pattern nobody tests is a pattern nobody knows works."""
    data = json.loads((crisis.DATA / "crisis.json").read_text(encoding="utf-8"))
    positives = SELF_HARM + EMERGENCY
    lex = crisis.lexicon()
    assert len(lex.signals) == len(data["signals"])
    for rule in lex.signals:
        assert any(rule.pattern.search(t.replace("\u2019", "'")) for t in positives), (
            rule.pattern.pattern
        )


@pytest.mark.parametrize(
    ("country", "must_have"),
    [
        ("US", "988"),
        ("us", "988"),
        ("CA", "988"),
        ("GB", "116 123"),
        ("UK", "116 123"),
        ("IE", "116 123"),
        ("IQ", "https://findahelpline.com/"),
        (None, "https://findahelpline.com/"),
        ("not a country", "https://findahelpline.com/"),
    ],
)
def test_resources_are_those_of_the_members_country(country: str | None, must_have: str) -> None:
    found = resources_for(country)
    assert found[0]["name"] == "Emergency services"
    assert any(must_have in (r["phone"], r["url"]) for r in found)


def test_the_sites_emergency_line_comes_last_when_configured() -> None:
    found = resources_for("US", site_line_name="Clinic nurse line", site_line_phone="507-555-0100")
    assert found[-1]["name"] == "Clinic nurse line" and found[-1]["phone"] == "507-555-0100"
    assert resources_for("US")[-1]["phone"] == "988"


@pytest.mark.parametrize(
    "hostile",
    [
        "kill myself as prescribed " * 770,
        "I want to " * 2000,
        "my baby is not breathing well, he said " * 510,
        "x" * 20_000,
    ],
    ids=["excepted-flood", "half-phrases", "third-person-flood", "one-word"],
)
def test_a_hostile_twenty_thousand_characters_stay_bounded(hostile: str) -> None:
    """Matches judged per pattern are capped and exceptions are looked for near the match
    only, so the check of a hostile body grows linearly (once it was quadratic: seconds)."""
    # linear even for a body built to be slow (the quadratic version took seconds for 20 KB)
    assert growth(detect_crisis, hostile) < MAX_GROWTH
