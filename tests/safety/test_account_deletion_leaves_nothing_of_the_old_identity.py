"""Deleting an account, both ways: sign-in, sessions and tokens end at once; the old
username and e-mail address are found on no route afterwards (mentions re-rendered, the
audit log shows a neutral name, moderators' names stay); the username is held for 30 days."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from app.accounts.models import Role, User
from app.db import utcnow
from app.discussions.models import Post
from app.email.worker import OutboxWorker
from app.safety.former import neutral_name
from app.safety.models import UsernameHold
from tests.access.test_no_route_shows_what_its_viewer_may_not_see import PARAM, get_routes

PASSWORD = "correct horse battery"
OLD = "leaving_lena"


async def _world(app, make_user, make_client, group) -> dict[str, Any]:
    lena = await make_user(OLD, Role.mentor)  # a mentor: published at once
    friend = await make_user("friend_fay", Role.mentor)
    moderator = await make_user("mod_mo", Role.moderator)
    lc, fc, mc = await make_client(lena), await make_client(friend), await make_client(moderator)
    r = await lc.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Night sweats", "body": "Lena's question about night sweats"},
    )
    d = r.json()
    r = await fc.api(
        "POST",
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": f"Thanks @{OLD}, and @{OLD.upper()} again. Fay here."},
    )
    mention = r.json()
    r = await lc.api(
        "POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "Lena's own reply"}
    )
    own_reply = r.json()
    await fc.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "Fay's reply"})
    # a mention edited away: its earlier version still names Lena
    r = await fc.api(
        "POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": f"See you @{OLD}!"}
    )
    r = await fc.api("PATCH", f"/api/v1/posts/{r.json()['id']}", json={"body": "See you!"})
    assert r.status_code == 200, r.text
    # moderation about Lena, in the audit log
    for change in ({"suspend": True, "reason": "cooling off"}, {"suspend": False}):
        r = await mc.api("PATCH", f"/api/v1/mod/users/{OLD}", json=change)
        assert r.status_code == 200, r.text
    # someone looked for Lena: by @name, in capitals, by address (the log keeps the words)
    for q in (f"@{OLD}, night sweats", f"{OLD.upper()} sweats", lena.email, "night sweats"):
        assert (await fc.get("/api/v1/search", params={"q": q})).status_code == 200
    logged = (await mc.get("/api/v1/mod/searches")).json()["top"]
    assert sum(OLD in t["terms"] for t in logged) == 3, logged
    token = (
        await (await make_client()).api(
            "POST", "/api/v1/auth/token", json={"username": OLD, "password": PASSWORD}
        )
    ).json()["access_token"]
    return {
        "lena": lena,
        "lc": await make_client(lena),
        "fc": fc,
        "mc": mc,
        "discussion": d,
        "mention": mention,
        "own_reply": own_reply,
        "token": token,
    }


def _routes(app: Any, values: dict[str, list[str]]) -> list[str]:
    urls = []
    for path in get_routes(app):
        names = PARAM.findall(path)
        for combo in itertools.product(*[values.get(n, ["1"]) for n in names]):
            url = path
            for name, value in zip(names, combo, strict=True):
                url = re.sub(r"\{" + name + r"(?::[a-z]+)?\}", value, url, count=1)
            urls.append(url)
    return urls


async def _nothing_of_the_old_identity(app, world, make_client, group) -> None:
    d = world["discussion"]
    values = {
        "discussion_id": [str(d["id"])],
        "post_id": [str(world["mention"]["id"]), str(world["own_reply"]["id"])],
        "username": [neutral_name(world["lena"].id), OLD, "friend_fay"],
        "slug": [group.slug, d["url"].rsplit("/", 1)[1]],
    }
    email = world["lena"].email
    failures = []
    for who, client in (("visitor", await make_client()), ("friend", world["fc"])):
        for url in _routes(app, values) + [d["url"]]:
            r = await client.get(url)
            if OLD in url:  # asked for by the old name: nobody is called that any more
                if r.status_code not in (303, 401, 403, 404):  # refused, or nobody
                    failures.append(f"{who} GET {url}: {r.status_code}, not 404")
                continue
            text = r.text.lower()
            if r.status_code >= 500 or OLD in text or email in text:
                failures.append(f"{who} GET {url}: {r.status_code} shows the old identity")
    # the moderators' private search log: what others searched for her is gone, the rest stays
    for url in ("/mod/searches", "/api/v1/mod/searches"):
        r = await world["mc"].get(url)
        assert r.status_code == 200, (url, r.status_code)
        if OLD in r.text.lower() or email in r.text.lower():
            failures.append(f"moderator GET {url} shows the old identity")
    logged = (await world["mc"].get("/api/v1/mod/searches")).json()["top"]
    assert "night sweats" in [t["terms"] for t in logged], logged
    assert not failures, "\n".join(failures[:30])


async def _raw_rows_holding(app: Any, *needles: str) -> list[str]:
    """Every text column of every table (the database's own catalogue, so search indexes and
    tables added later are read too) searched for the needles: "table.column" of each hit."""
    hits = []
    async with app.state.db.sessionmaker() as s:
        if s.bind.dialect.name == "sqlite":
            # but the tokenizer of title words (migration v20similar), which holds no
            # rows: it answers only `WHERE input = ...`, with that input's words
            tables = (
                await s.scalars(
                    text(
                        "SELECT name FROM sqlite_master WHERE type = 'table'"
                        " AND sql NOT LIKE '%USING fts3tokenize%'"
                    )
                )
            ).all()
            columns = [
                (t, c[1])
                for t in tables
                for c in (await s.execute(text(f'PRAGMA table_info("{t}")'))).all()
            ]
        else:
            columns = [
                (r[0], r[1])
                for r in await s.execute(
                    text(
                        "SELECT table_name, column_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema() AND data_type IN "
                        "('text', 'character varying', 'character', 'json', 'jsonb', "
                        "'tsvector')"
                    )
                )
            ]
        for table, column in columns:
            if table == "alembic_version":
                continue
            for needle in needles:
                found = await s.scalar(
                    text(
                        f'SELECT count(*) FROM "{table}" '
                        f'WHERE lower(CAST("{column}" AS TEXT)) LIKE :pattern'
                    ),
                    {"pattern": f"%{needle.lower()}%"},
                )
                if found:
                    hits.append(f"{table}.{column} holds {needle!r}")
    return hits


async def test_anonymize_keeps_the_posts_under_a_neutral_name(app, make_user, make_client, group):
    world = await _world(app, make_user, make_client, group)
    lc = world["lc"]
    r = await lc.api("DELETE", "/api/v1/me", json={"password": "wrong", "mode": "anonymize"})
    assert r.status_code == 422 and r.json()["code"] == "wrong_password"
    r = await lc.api("DELETE", "/api/v1/me", json={"password": PASSWORD, "mode": "anonymize"})
    assert r.status_code == 204, r.text

    # signed out everywhere, at once; sign-in fails by name and by address
    assert (await lc.get("/api/v1/me")).status_code == 401
    bearer = {"authorization": f"Bearer {world['token']}"}
    assert (await (await make_client()).get("/api/v1/me", headers=bearer)).status_code == 401
    anon = await make_client()
    for login in (OLD, world["lena"].email):
        r = await anon.api(
            "POST", "/api/v1/auth/token", json={"username": login, "password": PASSWORD}
        )
        assert r.status_code == 401

    page = await anon.get(world["discussion"]["url"])
    assert "Lena&#39;s own reply" in page.text or "Lena's own reply" in page.text
    assert neutral_name(world["lena"].id) in page.text
    mention = (await anon.get(f"/api/v1/posts/{world['mention']['id']}")).json()
    assert mention["body"] == "Thanks a former member, and a former member again. Fay here."
    audit = (await world["mc"].get("/api/v1/mod/audit")).json()["entries"]
    about = [e for e in audit if e["action"] in ("suspend", "unsuspend")]
    assert len(about) == 2
    assert {e["target"] for e in about} == {neutral_name(world["lena"].id)}
    assert {e["actor"] for e in about} == {"mod_mo"}
    await _nothing_of_the_old_identity(app, world, make_client, group)
    held = await _raw_rows_holding(app, OLD, world["lena"].email)
    assert not held, held

    # the name is held; the address is free again
    r = await anon.api(
        "POST",
        "/api/v1/auth/register",
        json={"username": OLD, "email": "new@example.org", "password": "another long one"},
    )
    assert r.status_code == 409
    r = await anon.api(
        "POST",
        "/api/v1/auth/register",
        json={
            "username": "lena_again",
            "email": world["lena"].email,
            "password": "a different long passphrase",
        },
    )
    # registration answers every address alike and finishes by the e-mailed link
    assert r.status_code == 202, r.text


async def test_delete_posts_leaves_placeholders_that_keep_the_thread(
    app, make_user, make_client, group
):
    world = await _world(app, make_user, make_client, group)
    before = (await world["fc"].get(f"/api/v1/discussions/{world['discussion']['id']}")).json()
    found = (await world["fc"].get("/api/v1/search", params={"q": "sweats"})).json()
    assert found["results"], found  # the title and the question are searchable, until...
    r = await world["lc"].api(
        "DELETE", "/api/v1/me", json={"password": PASSWORD, "mode": "delete_posts"}
    )
    assert r.status_code == 204
    after = (await world["fc"].get(f"/api/v1/discussions/{world['discussion']['id']}")).json()
    assert len(after["posts"]) == len(before["posts"])  # the thread keeps its shape
    theirs = [p for p in after["posts"] if p["author"]["username"] != "friend_fay"]
    assert theirs and all(p["deleted"] and p["body"] is None for p in theirs)
    assert after["discussion"]["reply_count"] == before["discussion"]["reply_count"] - 1
    # the discussion Lena opened keeps its place and others' replies, under a placeholder
    assert after["discussion"]["title"] == "A deleted discussion"
    assert "Fay's reply" in [p["body"] for p in after["posts"]]
    page = await world["fc"].get(after["discussion"]["url"])
    assert page.status_code == 200 and "A deleted discussion" in page.text
    assert re.search(r"Fay(&#39;|&#x27;|&rsquo;|'|\u2019)s reply", page.text)
    assert "sweats" not in page.text.lower(), re.findall(r".{80}sweats.{40}", page.text, re.I)
    for q in ("sweats", "night", "Lena"):  # its words leave the search index too
        found = (await world["fc"].get("/api/v1/search", params={"q": q})).json()
        assert found["results"] == [], (q, found)
    async with app.state.db.sessionmaker() as s:
        bodies = (
            await s.scalars(select(Post.body_md).where(Post.author_id == world["lena"].id))
        ).all()
        assert set(bodies) == {""}
        user = await s.get(User, world["lena"].id)
        assert user is not None and user.email == "" and user.deleted_at is not None
    await _nothing_of_the_old_identity(app, world, make_client, group)
    held = await _raw_rows_holding(app, OLD, world["lena"].email)
    assert not held, held


async def test_the_confirmation_page_says_what_happens_and_asks_for_the_password(
    app, make_user, make_client, group
):
    member = await make_user("page_leaver")
    c = await make_client(member)
    page = await c.get("/settings")
    assert 'href="/settings/delete"' in page.text
    page = await c.get("/settings/delete")
    assert page.status_code == 200
    assert "held for 30 days" in page.text and 'value="anonymize"' in page.text
    # what stays is said too: reactions and reports, and started discussions' place
    assert "your reactions and the posts you reported" in page.text
    assert "A deleted discussion" in page.text
    r = await c.form("/settings/delete", {"mode": "anonymize", "password": "nope"})
    assert r.status_code == 422 and "not your current password" in r.text
    r = await c.form("/settings/delete", {"mode": "delete_posts", "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/?notice=account-deleted"
    assert (await c.get("/settings")).status_code in (303, 401)


def _written_mail(folder: Path) -> list[str]:
    return [p.read_text(errors="replace") for p in sorted(folder.glob("**/*.eml"))]


@pytest.mark.parametrize("mode", ["anonymize", "delete_posts"])
async def test_e_mail_sent_after_the_deletion_shows_nothing_of_the_old_identity(
    app, make_user, make_client, group, settings, mode
):
    """What was queued before the deletion (a watcher's e-mail about the member's reply,
    a mention of a friend) is written when it is sent: by then under the neutral name, or
    (posts deleted) not at all."""
    world = await _world(app, make_user, make_client, group)
    async with app.state.db.sessionmaker() as s:
        await s.execute(
            update(User)
            .where(User.username.in_(["friend_fay", OLD]))
            .values(email_verified_at=utcnow())
        )
        await s.commit()
    d = world["discussion"]
    r = await world["fc"].api(
        "POST", f"/api/v1/discussions/{d['id']}/follow", json={"level": "watching"}
    )
    assert r.status_code in (200, 201, 204), r.text
    r = await world["lc"].api(
        "POST",
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": "Thank you @friend_fay, with love."},
    )
    assert r.status_code == 201, r.text
    r = await world["lc"].api("DELETE", "/api/v1/me", json={"password": PASSWORD, "mode": mode})
    assert r.status_code == 204, r.text

    worker = OutboxWorker(app.state.db.sessionmaker, app.state.settings, app.state.signer)
    while await worker.run_once(utcnow() + timedelta(days=2)):
        pass
    mails = _written_mail(Path(settings.var_dir, "mail"))
    to_fay = [m for m in mails if "friend_fay@" in m]
    if mode == "anonymize":
        assert to_fay, "the watcher's e-mail about the reply was sent"
        assert any(neutral_name(world["lena"].id) in m for m in to_fay)
    else:
        assert not any("with love" in m for m in mails)  # the post is deleted
    for mail in mails:
        assert OLD not in mail.lower() and world["lena"].email not in mail, mail[:2000]


async def test_the_old_username_is_free_again_after_30_days(app, make_user, make_client):
    leaver = await make_user("short_stay")
    c = await make_client(leaver)
    r = await c.api("DELETE", "/api/v1/me", json={"password": PASSWORD, "mode": "anonymize"})
    assert r.status_code == 204, r.text
    async with app.state.db.sessionmaker() as s:
        [until] = (await s.scalars(select(UsernameHold.until))).all()
    assert timedelta(days=29) < until - utcnow() <= timedelta(days=30)
    anon = await make_client()
    new = {"username": "short_stay", "email": "new@example.org", "password": "another long one"}
    assert (await anon.api("POST", "/api/v1/auth/register", json=new)).status_code == 409
    async with app.state.db.sessionmaker() as s:  # 30 days later
        await s.execute(update(UsernameHold).values(until=utcnow() - timedelta(seconds=1)))
        await s.commit()
    assert (await anon.api("POST", "/api/v1/auth/register", json=new)).status_code == 202


@pytest.mark.hold_first_posts
async def test_a_held_post_that_mentions_the_member_loses_the_name_too(
    app, make_user, make_client, group
):
    """A newcomer's reply waiting for approval mentions the member: its mention was never
    recorded (mentions are, on publishing), and it loses the name all the same."""
    world = await _world(app, make_user, make_client, group)
    newcomer = await make_client(await make_user("new_nell"))
    d = world["discussion"]
    r = await newcomer.api(
        "POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": f"Hello @{OLD}!"}
    )
    assert r.status_code == 201 and r.json()["status"] == "pending", r.text
    held = r.json()
    r = await world["lc"].api(
        "DELETE", "/api/v1/me", json={"password": PASSWORD, "mode": "anonymize"}
    )
    assert r.status_code == 204
    assert not await _raw_rows_holding(app, OLD, world["lena"].email)
    post = (await world["mc"].get(f"/api/v1/posts/{held['id']}")).json()
    assert post["body"] == "Hello a former member!"


async def test_searches_for_the_old_address_leave_the_search_log_too(app, make_user, make_client):
    """An address that does not say the name goes too, whole or where the log's 200-character
    key cut it; searches that only share a word with it stay."""
    lena = await make_user(OLD)
    address = "h.quiet@mailbox.example"
    async with app.state.db.sessionmaker() as s:
        await s.execute(
            update(User).where(User.id == lena.id).values(email=address, email_key=address)
        )
        await s.commit()
    fay = await make_client(await make_user("friend_fay"))
    cut = f"{'a' * 90} {'b' * 90} {address}"  # logged as its first 200 characters
    for q in (address.upper(), f"write to {address}.", cut, "quiet mailbox"):
        assert (await fay.get("/api/v1/search", params={"q": q})).status_code == 200
    mod = await make_client(await make_user("mod_mo", Role.moderator))
    before = [t["terms"] for t in (await mod.get("/api/v1/mod/searches")).json()["top"]]
    assert len(before) == 4 and cut[:200] in before, before
    r = await (await make_client(lena)).api(
        "DELETE", "/api/v1/me", json={"password": PASSWORD, "mode": "anonymize"}
    )
    assert r.status_code == 204, r.text
    after = (await mod.get("/api/v1/mod/searches")).json()
    assert [t["terms"] for t in after["top"]] == ["quiet mailbox"], after
    page = await mod.get("/mod/searches")
    assert "mailbox.ex" not in page.text and "quiet mailbox" in page.text
