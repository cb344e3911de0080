"""Posting with personal information: the API answers 422 personal_information with the
findings until the author confirms (or edits them away); the composer page offers "Remove
it" and "Post anyway" without JavaScript; confirmed posts reach the moderators' queue as
low-priority items; the check endpoint serves the composer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.discussions.models import Post
from app.safety.models import SafetyReview

PHONE = "Call me on 212-555-0187 tonight"


async def _discussion(c: Any, group: Any, body: str = "How do you cope with G-CSF?") -> Any:
    r = await c.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Bone pain after filgrastim", "body": body},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _count(app: Any, model: Any) -> int:
    async with app.state.db.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_reply_with_a_phone_number_is_refused_with_the_findings(
    app, make_client, member, group
):
    c = await make_client(member)
    d = await _discussion(c, group)
    posts_before = await _count(app, Post)
    r = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": PHONE})
    assert r.status_code == 422, r.text
    answer = r.json()
    assert answer["code"] == "personal_information"
    assert "phone number" in answer["detail"]
    assert answer["findings"] == [
        {"kind": "phone", "text": "212-555-0187", "start": 11, "end": 23, "field": "body"}
    ]
    assert await _count(app, Post) == posts_before  # nothing was written

    r = await c.api(
        "POST",
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": PHONE, "confirm_personal_information": True},
    )
    assert r.status_code == 201, r.text
    assert r.json()["support"] is None

    r = await c.api(
        "POST",
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": "Call me on [phone number removed] tonight"},
    )
    assert r.status_code == 201, r.text


async def test_the_members_country_is_the_region_of_national_numbers(
    app, make_client, make_user, group
):
    """A national number is read in the author's country (their setting): a British mobile
    number written the British way is a phone number from a member in GB, and just digits
    from a member in the US."""
    uk = await make_client(await make_user("uk_member"))
    assert (await uk.api("PATCH", "/api/v1/me", json={"bio": "", "country": "GB"})).is_success
    us = await make_client(await make_user("us_member"))
    assert (await us.api("PATCH", "/api/v1/me", json={"bio": "", "country": "US"})).is_success
    d = await _discussion(uk, group)
    body = "my mobile is 07911 123456 if anyone wants to talk"
    r = await uk.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": body})
    assert r.status_code == 422, r.text
    assert [(f["kind"], f["text"]) for f in r.json()["findings"]] == [("phone", "07911 123456")]
    check = (await uk.api("POST", "/api/v1/posts/check", json={"body": body})).json()
    assert [f["text"] for f in check["findings"]] == ["07911 123456"]
    r = await us.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": body})
    assert r.status_code == 201, r.text
    check = (await us.api("POST", "/api/v1/posts/check", json={"body": body})).json()
    assert check["findings"] == []


async def test_a_new_discussion_and_an_edit_are_checked_too(app, make_client, member, group):
    c = await make_client(member)
    r = await c.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "DOB 01/02/1960, need help", "body": "ANC 310, 800 mg ibuprofen"},
    )
    assert r.status_code == 422
    assert [(f["kind"], f["field"]) for f in r.json()["findings"]] == [("date_of_birth", "title")]
    d = await _discussion(c, group)
    opening = (await c.get(f"/api/v1/discussions/{d['id']}/posts")).json()[0]
    r = await c.api(
        "PATCH", f"/api/v1/posts/{opening['id']}", json={"body": "write to me@example.com"}
    )
    assert r.status_code == 422 and r.json()["findings"][0]["kind"] == "email"
    r = await c.api(
        "PATCH",
        f"/api/v1/posts/{opening['id']}",
        json={"body": "write to me@example.com", "confirm_personal_information": True},
    )
    assert r.status_code == 200, r.text


async def test_a_moderator_editing_a_members_post_is_not_asked(
    app, make_client, member, moderator, group
):
    """The moderator is the reviewer: their edit is neither asked about nor queued."""
    c = await make_client(member)
    d = await _discussion(c, group)
    opening = (await c.get(f"/api/v1/discussions/{d['id']}/posts")).json()[0]
    mod = await make_client(moderator)
    r = await mod.api(
        "PATCH",
        f"/api/v1/posts/{opening['id']}",
        json={"body": "Call the clinic desk: 212-555-0187", "reason": "kept the clinic number"},
    )
    assert r.status_code == 200, r.text
    assert await _count(app, SafetyReview) == 0


async def test_confirmed_posts_reach_the_queue_as_low_priority_items(
    app, make_client, member, moderator, group
):
    c = await make_client(member)
    d = await _discussion(c, group)
    r = await c.api(
        "POST",
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": "MRN 12345678, ring 212-555-0187", "confirm_personal_information": True},
    )
    assert r.status_code == 201
    post_id = r.json()["id"]
    mod = await make_client(moderator)
    queue = (await mod.get("/api/v1/mod/queue")).json()
    assert [i["post_id"] for i in queue["personal_information"]] == [post_id]
    item = queue["personal_information"][0]
    assert item["label"] == "Personal information confirmed by the author"
    assert item["detail"] == "phone, record_number"
    assert queue["crisis"] == []
    page = await mod.get("/mod/queue")
    assert "Personal information confirmed by the author" in page.text
    # the low-priority section comes after the flagged and pending ones
    assert page.text.index("personal-information-heading") > page.text.index("pending-heading")

    r = await mod.api("POST", f"/api/v1/mod/safety/{item['id']}/resolve", json={"reason": "ok"})
    assert r.status_code == 200 and r.json()["resolved_by"] == moderator.username
    again = await mod.api("POST", f"/api/v1/mod/safety/{item['id']}/resolve", json={})
    assert again.status_code == 409 and again.json()["code"] == "already_resolved"
    assert (await mod.get("/api/v1/mod/queue")).json()["personal_information"] == []
    audit = (await mod.get("/api/v1/mod/audit")).json()["entries"]
    assert audit[0]["action"] == "review_personal_information"


async def test_a_replayed_or_tampered_confirmation_is_harmless(app, make_client, member, group):
    """The flag only says yes to what the server itself finds in the stored text."""
    c = await make_client(member)
    d = await _discussion(c, group)
    # confirming a clean post changes nothing: no queue item
    r = await c.api(
        "POST",
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": "ANC 310 after 5 mcg/kg", "confirm_personal_information": True},
    )
    assert r.status_code == 201
    assert await _count(app, SafetyReview) == 0
    # a confirmation sent with different text: the text sent is what is checked and queued
    r = await c.api(
        "POST",
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": "SSN 123-45-6789", "confirm_personal_information": True},
    )
    assert r.status_code == 201
    async with app.state.db.sessionmaker() as s:
        details = (await s.scalars(select(SafetyReview.detail))).all()
    assert details == ["record_number"]


async def test_the_check_endpoint_serves_the_composer(make_client, member, client):
    c = await make_client(member)
    r = await c.api(
        "POST",
        "/api/v1/posts/check",
        json={"title": "DOB 3/4/2019", "body": "You should stop taking it. Call 212-555-0187"},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert [(f["kind"], f["field"], f["placeholder"]) for f in out["findings"]] == [
        ("date_of_birth", "title", "[date removed]"),
        ("phone", "body", "[phone number removed]"),
    ]
    assert out["advice"][0]["text"] == "You should stop"
    assert "experience" in out["advice_hint"]
    clean = await c.api("POST", "/api/v1/posts/check", json={"body": "ANC 310"})
    assert clean.json() == {"findings": [], "advice": [], "advice_hint": None}
    # visitors may not; bad input is a clean 422
    assert (await client.api("POST", "/api/v1/posts/check", json={"body": "x"})).status_code == 401
    bad = await c.api("POST", "/api/v1/posts/check", json={"body": "x" * 20_001})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    bad = await c.api("POST", "/api/v1/posts/check", json={"body": 5, "extra": 1})
    assert bad.status_code == 422


async def test_a_twenty_thousand_character_body_checks_quickly_and_cleanly(make_client, member):
    c = await make_client(member)
    hostile = ("Call 212-555-0187, DOB 1/2/1990, MRN 1234567 " * 500)[:20_000]
    r = await c.api("POST", "/api/v1/posts/check", json={"body": hostile})
    assert r.status_code == 200
    assert 0 < len(r.json()["findings"]) <= 250


CORPORA = Path(__file__).resolve().parents[1] / "corpora"


async def test_the_bad_input_corpora_through_the_check_endpoint_never_500(make_client, member):
    c = await make_client(member)
    lines: list[str] = []
    for path in sorted(CORPORA.rglob("*")):
        if path.is_file() and not path.name.startswith(("LICENSE", "README")):
            lines.extend(path.read_text(encoding="utf-8", errors="replace").splitlines()[:200])
    assert len(lines) > 300
    for start in range(0, len(lines), 40):
        body = "\n".join(lines[start : start + 40])[:20_000]
        r = await c.api("POST", "/api/v1/posts/check", json={"title": body[:200], "body": body})
        assert r.status_code in (200, 422), (r.status_code, body[:200])


async def test_the_composer_page_offers_remove_it_and_post_anyway_without_javascript(
    app, make_client, member, group
):
    c = await make_client(member)
    d = await _discussion(c, group)
    action = f"/discussions/{d['id']}/replies"
    body = "Our clinic is at 123 Main Street. Call 212-555-0187."
    r = await c.form(action, {"body": body, "client_key": "k1"})
    assert r.status_code == 422
    assert "Before you post: this may be personal information" in r.text
    assert "<mark>123 Main Street.</mark>" in r.text and "<mark>212-555-0187</mark>" in r.text
    assert 'name="remove_finding" value="1"' in r.text
    assert 'name="confirm_personal_information" value="true"' in r.text
    # "Remove it" on the phone number: the same form comes back with a placeholder
    r = await c.form(action, {"body": body, "client_key": "k1", "remove_finding": "1"})
    assert r.status_code == 200
    assert "Call [phone number removed]." in r.text
    assert "<mark>212-555-0187</mark>" not in r.text and "<mark>123 Main Street.</mark>" in r.text
    assert await _count(app, Post) == 1  # still only the question
    # "Post anyway"
    r = await c.form(
        action, {"body": body, "client_key": "k1", "confirm_personal_information": "true"}
    )
    assert r.status_code == 303, r.text
    assert "support=" not in r.headers["location"]
    page = await c.get(r.headers["location"])
    assert "Call 212-555-0187." in page.text


async def test_new_discussion_and_edit_pages_ask_too(app, make_client, member, group):
    c = await make_client(member)
    r = await c.form(
        f"/groups/{group.slug}/new",
        {"title": "Help", "body": "e-mail me at jo@example.com", "client_key": "n1"},
    )
    assert r.status_code == 422 and "<mark>jo@example.com</mark>" in r.text
    r = await c.form(
        f"/groups/{group.slug}/new",
        {"title": "Help", "body": "e-mail me at jo@example.com", "remove_finding": "0"},
    )
    assert r.status_code == 200 and "e-mail me at [e-mail removed]" in r.text
    d = await _discussion(c, group)
    opening = (await c.get(f"/api/v1/discussions/{d['id']}/posts")).json()[0]
    r = await c.form(
        f"/posts/{opening['id']}/edit", {"title": d["title"], "body": "my MRN is 00456123"}
    )
    assert r.status_code == 422 and "<mark>00456123</mark>" in r.text
    r = await c.form(
        f"/posts/{opening['id']}/edit",
        {"title": d["title"], "body": "my MRN is 00456123", "confirm_personal_information": "true"},
    )
    assert r.status_code == 303


async def test_edits_of_a_confirmed_post_waiting_in_the_queue_add_no_item(
    app, make_client, member, moderator, group
):
    """One open item per post: editing a post whose confirmed personal information is still
    waiting for a moderator, and confirming again, leaves the one item; after a review, a
    confirmed edit is a new item."""
    c = await make_client(member)
    mod = await make_client(moderator)
    d = await _discussion(c, group)
    r = await c.api(
        "POST",
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": PHONE, "confirm_personal_information": True},
    )
    post_id = r.json()["id"]
    for body in (PHONE + ", or after 9", "MRN 12345678, ring 212-555-0187"):
        r = await c.api(
            "PATCH",
            f"/api/v1/posts/{post_id}",
            json={"body": body, "confirm_personal_information": True},
        )
        assert r.status_code == 200, r.text
    queue = (await mod.get("/api/v1/mod/queue")).json()
    assert [i["post_id"] for i in queue["personal_information"]] == [post_id]
    assert await _count(app, SafetyReview) == 1

    item = queue["personal_information"][0]["id"]
    assert (await mod.api("POST", f"/api/v1/mod/safety/{item}/resolve", json={})).is_success
    r = await c.api(
        "PATCH",
        f"/api/v1/posts/{post_id}",
        json={"body": PHONE + " (mobile)", "confirm_personal_information": True},
    )
    assert r.status_code == 200, r.text
    queue = (await mod.get("/api/v1/mod/queue")).json()
    assert [i["post_id"] for i in queue["personal_information"]] == [post_id]
    assert queue["personal_information"][0]["id"] != item
