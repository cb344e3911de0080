"""The moderator's page about a member (/mod/users/{name}) reads that member's whole
moderation history by query, paginated: a suspension stays on it however many other actions
happen since. The page and the API take a suspension in one shape (days and reason)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.db import utcnow
from app.moderation import audit
from app.moderation.schemas import MemberModIn, SuspensionIn


async def test_a_suspension_stays_on_the_page_after_many_unrelated_actions(
    make_client, make_user, member, moderator, group, session
):
    mod = await make_client(moderator)
    r = await mod.form(
        f"/mod/users/{member.username}/suspend", {"days": "3", "reason": "MARKER-SUSPENSION"}
    )
    assert r.status_code == 303
    r = await mod.form(f"/mod/users/{member.username}/unsuspend", {"reason": "MARKER-LIFTED"})
    assert r.status_code == 303
    # 30 actions about somebody else, through the real verbs
    other = await make_user()
    for n in range(15):
        assert (
            await mod.api(
                "PATCH",
                f"/api/v1/mod/users/{other.username}",
                json={"suspend": True, "reason": f"other {n}"},
            )
        ).status_code == 200
        assert (
            await mod.api("PATCH", f"/api/v1/mod/users/{other.username}", json={"suspend": False})
        ).status_code == 200
    page = await mod.get(f"/mod/users/{member.username}")
    assert page.status_code == 200
    assert "MARKER-SUSPENSION" in page.text and "MARKER-LIFTED" in page.text
    assert "other 3" not in page.text


async def test_the_history_includes_the_members_posts_and_is_paginated(
    make_client, make_user, member, moderator, group, session
):
    author = await make_client(member)
    d = (
        await author.api(
            "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "t", "body": "b"}
        )
    ).json()
    p = (
        await author.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "r"})
    ).json()
    mod = await make_client(moderator)
    r = await mod.api("POST", f"/api/v1/mod/posts/{p['id']}/hide", json={"reason": "MARKER-HID"})
    assert r.status_code == 204
    # 54 more entries about the member (the log is append-only: written as the verbs do)
    who = await session.scalar(select(User).where(User.id == moderator.id))
    target = await session.scalar(select(User).where(User.id == member.id))
    for n in range(54):
        await audit.record(
            session,
            actor=who,
            action="note",
            target_type="user",
            target_id=target.id,
            target_label=target.username,
            reason=f"entry {n:02d}",
        )
    await session.commit()
    first = await mod.get(f"/mod/users/{member.username}")
    assert first.status_code == 200
    assert first.text.count("<tr>") == 1 + 50  # the head row and one page
    assert "entry 53" in first.text and "MARKER-HID" not in first.text
    older = re.search(r'href="(/mod/users/[^"?]+\?before=\d+)#history"', first.text)
    assert older is not None
    second = await mod.get(older.group(1))
    assert second.status_code == 200
    assert "MARKER-HID" in second.text and f"/posts/{p['id']}" in second.text
    assert "entry 53" not in second.text and "Older entries" not in second.text
    for bad in ("abc", "0", "-1", "99999999999999999999"):
        r = await mod.get(f"/mod/users/{member.username}?before={bad}")
        assert r.status_code == 422, bad


async def test_the_page_and_the_api_take_a_suspension_as_days_and_a_reason(
    make_client, make_user, moderator, session
):
    assert issubclass(MemberModIn, SuspensionIn)
    mod = await make_client(moderator)
    by_page = await make_user()
    for days, reason, field in [
        ("abc", "spam", "days"),
        ("0", "spam", "days"),
        ("4000", "spam", "days"),
        ("3", "   ", "reason"),
    ]:
        r = await mod.form(
            f"/mod/users/{by_page.username}/suspend", {"days": days, "reason": reason}
        )
        assert r.status_code == 422, (days, reason)
        assert f'id="{field}-error"' in r.text
        assert f'value="{days}"' in r.text  # what was typed comes back
    r = await mod.form(f"/mod/users/{by_page.username}/suspend", {"days": "7", "reason": "spam"})
    assert r.status_code == 303
    by_api = await make_user()
    url = f"/api/v1/mod/users/{by_api.username}"
    r = await mod.api("PATCH", url, json={"suspend": True, "days": 7, "reason": "spam"})
    assert r.status_code == 200 and r.json()["suspended"] is True
    for user in (by_page, by_api):
        until = await session.scalar(select(User.suspended_until).where(User.id == user.id))
        assert until is not None
        assert abs((until - (utcnow() + timedelta(days=7))).total_seconds()) < 60
    for body in (
        {"suspend": True, "days": 0, "reason": "x"},
        {"suspend": True, "days": 3, "suspended_until": utcnow().isoformat(), "reason": "x"},
        {"days": 3, "reason": "x"},
    ):
        r = await mod.api("PATCH", url, json=body)
        assert r.status_code == 422, body
