"""Replies that read as medical instructions get a hint in the composer, never a refusal;
volunteer mentors' posts carry a footer saying they share experience, not medical advice."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import update

from app.accounts.models import User
from app.core.templating import MENTOR_FOOTER
from app.db import utcnow
from app.email.worker import OutboxWorker
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


def _form_fields(html: str) -> dict[str, str]:
    """What the returned reply form would send: its hidden inputs and its textarea."""
    start = html.index('id="reply-form"')
    form = html[start : html.index("</form>", start)]
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
    body = re.search(r"<textarea[^>]*name=\"body\"[^>]*>(.*?)</textarea>", form, re.S)
    assert body is not None
    fields["body"] = html_lib.unescape(body.group(1))
    return fields


async def test_without_javascript_the_hint_is_shown_once_and_the_next_submit_posts(
    make_client, member, group
):
    """A reply that reads as instructions, sent from a page that never showed the hint, comes
    back once with it and "Post as it is" (200, not a refusal, nothing stored); sending that
    form posts. Ordinary replies are not paused."""
    c = await make_client(member)
    d = (
        await c.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Prednisone", "body": "Side effects?"},
        )
    ).json()
    url = f"/discussions/{d['id']}/replies"

    async def replies() -> list[str]:
        posts = (await c.get(f"/api/v1/discussions/{d['id']}")).json()["posts"]
        return [p["body"] for p in posts if not p["is_opening"]]

    body = "You should stop taking it and double your dose."
    r = await c.form(url, {"body": body, "client_key": "advice-1"})
    assert r.status_code == 200, r.text
    assert "advice-hint" in r.text and "Post as it is" in r.text
    assert "Your post is not published yet" not in r.text
    assert await replies() == []  # not yet: the page shows the hint first

    fields = _form_fields(r.text)
    assert fields["advice_seen"] == "1" and fields["client_key"] == "advice-1"
    assert fields["body"] == body
    r = await c.form(url, {k: v for k, v in fields.items() if k != "csrf_token"})
    assert r.status_code == 303, r.text
    assert await replies() == [body]

    r = await c.form(url, {"body": "What helped me was a lower dose.", "client_key": "plain"})
    assert r.status_code == 303  # nothing to say: posted at once
    assert len(await replies()) == 2


async def test_the_api_answers_instructions_with_the_post_never_a_pause(make_client, member, group):
    c = await make_client(member)
    d = (
        await c.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Prednisone", "body": "Side effects?"},
        )
    ).json()
    r = await c.api(
        "POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "Just double your dose."}
    )
    assert r.status_code == 201
    check = await c.api("POST", "/api/v1/posts/check", json={"body": "Just double your dose."})
    assert check.json()["advice_hint"]


def _mail_texts(folder: Path, to: str) -> list[str]:
    """The text parts of the .eml files written to `to` (the file transport)."""
    texts = []
    for path in sorted(folder.glob("**/*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=default_policy)
        if to in str(message["To"]):
            for preference in ("plain", "html"):
                part = message.get_body(preferencelist=(preference,))
                assert part is not None
                texts.append(str(part.get_content()))  # type: ignore[attr-defined]
    return texts


async def test_a_mentors_reply_carries_the_footer_in_e_mail_and_feeds(
    app, make_client, make_user, member, mentor, group, settings
):
    """Wherever a mentor's reply goes out of the page: the e-mail telling the asker of it
    (text and HTML), and the discussion's Atom feed. A member's reply carries none."""
    async with app.state.db.sessionmaker() as s:
        await s.execute(update(User).where(User.id == member.id).values(email_verified_at=utcnow()))
        await s.commit()
    c = await make_client(member)
    d = (
        await c.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Prednisone", "body": "Side effects?"},
        )
    ).json()
    m = await make_client(mentor)
    r = await m.api(
        "POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "What helped me was rest."}
    )
    assert r.status_code == 201
    other = await make_client(await make_user("plain_peer"))
    r = await other.api(
        "POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "Same here, tired."}
    )
    assert r.status_code == 201
    worker = OutboxWorker(app.state.db.sessionmaker, app.state.settings, app.state.signer)
    while await worker.run_once(utcnow() + timedelta(days=2)):
        pass
    texts = _mail_texts(Path(settings.var_dir, "mail"), member.email)
    assert texts and all("What helped me was rest." in t for t in texts)
    for text in texts:
        assert text.count(MENTOR_FOOTER) == 1, text  # the mentor's reply, not the peer's

    feed = await (await make_client()).get(f"/discussions/{d['id']}/feed.atom")
    assert feed.status_code == 200
    entries = feed.text.split("<entry>")[1:]
    assert len(entries) == 2
    footed = [e for e in entries if MENTOR_FOOTER in html_lib.unescape(e)]
    assert len(footed) == 1 and "What helped me was rest." in html_lib.unescape(footed[0])
