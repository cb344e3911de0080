"""Replies that read as medical instructions get a hint in the composer, never a refusal;
volunteer mentors' posts carry a footer saying they share experience, not medical advice."""

from __future__ import annotations

import pytest

from app.core.templating import MENTOR_FOOTER
from app.safety.advice import instruction_phrases

INSTRUCTIONS = [
    ("you should stop taking it", "you should stop"),
    ("Stop taking your prednisone now", "Stop taking your"),
    ("just double your dose", "double your dose"),
    ("You don't need to see a doctor for that", "You don't need to see a doctor"),
    ("you don\u2019t need to see a doctor", "you don\u2019t need to see a doctor"),
    ("no need to see a specialist", "no need to see a specialist"),
    ("ignore your hematologist", "ignore your hematologist"),
    ("You must increase the dosage", "You must increase"),
    ("don't take your antibiotics", "don't take your antibiotics"),
    ("halve your meds", "halve your meds"),
]
EXPERIENCE = [
    "What helped me was asking my hematologist about the dose.",
    "I stopped taking it after my doctor said so.",
    "You could ask your doctor whether a lower dose would work.",
    "My dose was doubled in 2016 and it helped.",
    "I'm not sure any member is able to provide advice since we are not medical professionals.",
    "Is your husband scheduled for a bone marrow test?",
]


@pytest.mark.parametrize(("text", "phrase"), INSTRUCTIONS)
def test_instructions_are_noticed(text: str, phrase: str) -> None:
    assert [p.text for p in instruction_phrases(text)] == [phrase]


@pytest.mark.parametrize("text", EXPERIENCE)
def test_shared_experience_is_not(text: str) -> None:
    assert instruction_phrases(text) == []


async def test_a_reply_that_reads_as_instructions_is_posted_all_the_same(
    make_client, member, mentor, group
):
    c = await make_client(mentor)
    r = await c.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Prednisone", "body": "Side effects?"},
    )
    d = r.json()
    r = await c.api(
        "POST",
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": "You should stop taking it and double your dose of vitamin D."},
    )
    assert r.status_code == 201
    assert r.json()["footer"] == MENTOR_FOOTER
    page = await (await make_client(member)).get(d["url"])
    assert page.text.count('class="mentor-note"') == 2  # the question and the reply
    r = await (await make_client(member)).api(
        "POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "Thank you!"}
    )
    assert r.status_code == 201 and r.json()["footer"] is None
