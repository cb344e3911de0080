"""Two moderators doing the same thing at the same moment, on a database of their own with
real separate connections and commits (SQLite file or PostgreSQL database).

Each verb claims its change with a conditional write, so exactly one of the two succeeds and
the other gets 409 naming who acted; counters move once; one audit entry is written.

- Two "servers" (two apps, each with its own engine and connections, as two worker processes
  would be) receive the two requests at once, for every verb.
- Two sessions interleaved by hand prove the second really waits for the first and then
  re-checks: its approval starts while the first is uncommitted and still answers 409."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.core.errors import Conflict
from app.db import Database, utcnow
from app.discussions import posting as discussions
from app.discussions.models import Discussion, Post
from app.groups.models import Group
from app.groups.service import create_group
from app.main import create_app
from app.moderation import service as moderation
from app.moderation.flags import flag_post
from app.moderation.models import AuditEntry, Flag, FlagReason
from tests.conftest import drop_database, fresh_database_url, settings_for_tests


@dataclass
class Servers:
    url: str
    apps: tuple[Any, Any]

    @property
    def db(self) -> Database:
        return self.apps[0].state.db  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Servers]:
    tmp = tmp_path_factory.mktemp("two-moderators")
    url = await asyncio.to_thread(fresh_database_url, tmp, "two_moderators")
    apps = (
        create_app(settings_for_tests(tmp, url)),
        create_app(settings_for_tests(tmp, url)),
    )
    try:
        yield Servers(url, apps)
    finally:
        for app in apps:
            await app.state.db.dispose()
        await asyncio.to_thread(drop_database, url)


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


async def _user(servers: Servers, prefix: str, role: Role = Role.member) -> User:
    async with servers.db.sessionmaker() as s:
        name = _name(prefix)
        user = await accounts.register(
            s,
            servers.apps[0].state.hasher,
            username=name,
            email=f"{name}@example.org",
            password="long password here",
            role=role,
        )
        await s.commit()
    return user


async def _client(servers: Servers, which: int, user: User) -> httpx.AsyncClient:
    app = servers.apps[which]
    async with app.state.db.sessionmaker() as s:
        token = await accounts.start_session(s, app.state.settings, user=user)
        await s.commit()
    c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    c.cookies.set("kindred_session", token)
    c.headers["x-csrf-token"] = app.state.signer.sign("csrf", token)
    return c


@dataclass
class Scene:
    """One discussion (opened by a mentor, so visible) in a group of its own, a reply in the
    state the verb expects, and two moderators (admins for a role change) on two servers."""

    group: Group
    other_group: Group
    discussion: Discussion
    reply: Post
    author: User
    member: User
    first: httpx.AsyncClient
    second: httpx.AsyncClient
    names: tuple[str, str]


async def _scene(
    servers: Servers, reply_state: str = "visible", role: Role = Role.moderator
) -> Scene:
    mentor = await _user(servers, "opener", Role.mentor)
    # a new member's first posts are held; a mentor's are published at once
    author = await _user(servers, "author", Role.member if reply_state == "held" else Role.mentor)
    member = await _user(servers, "member")
    async with servers.db.sessionmaker() as s:
        group = await create_group(s, slug=_name("g").replace("_", "-"), name="G")
        other = await create_group(s, slug=_name("h").replace("_", "-"), name="H")
        opened = await discussions.start_discussion(
            s, author=mentor, group=group, title="Night sweats", body="Anyone else?"
        )
        written = await discussions.reply(
            s, author=author, discussion=opened.discussion, body="me too"
        )
        if reply_state == "hidden":
            await moderation.hide_post(s, moderator=None, post=written.post, reason="set up")
        await s.commit()
    mods = [await _user(servers, "mod", role) for _ in range(2)]
    return Scene(
        group=group,
        other_group=other,
        discussion=opened.discussion,
        reply=written.post,
        author=author,
        member=member,
        first=await _client(servers, 0, mods[0]),
        second=await _client(servers, 1, mods[1]),
        names=(mods[0].username, mods[1].username),
    )


async def _race(
    scene: Scene, send: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]], ok: int
) -> str:
    """Both moderators at once; exactly one succeeds, the other is told who did. Returns the
    winner's name."""
    responses = await asyncio.gather(send(scene.first), send(scene.second))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [ok, 409], [r.text for r in responses]
    winner = scene.names[0] if responses[0].status_code == ok else scene.names[1]
    loser = next(r for r in responses if r.status_code == 409).json()
    assert loser["code"] == "already_resolved"
    assert winner in loser["detail"] and loser["resolved_by"] == winner, loser
    return winner


async def _audit(servers: Servers, target_type: str, target_id: int) -> list[tuple[str, str]]:
    async with servers.db.sessionmaker() as s:
        rows = await s.execute(
            select(AuditEntry.action, AuditEntry.actor_name)
            .where(AuditEntry.target_type == target_type, AuditEntry.target_id == target_id)
            .order_by(AuditEntry.id)
        )
        return [(a, n) for a, n in rows]


async def _counts(servers: Servers, scene: Scene) -> tuple[int, int]:
    """The discussion's reply count and the reply author's post count."""
    async with servers.db.sessionmaker() as s:
        d = await s.get_one(Discussion, scene.discussion.id)
        author = await s.get_one(User, scene.author.id)
        return d.reply_count, author.post_count


POST_VERBS = [
    # verb, the reply's state before, audit action, change in reply_count and post_count
    ("approve", "held", "approve_post", 1),
    ("hide", "visible", "hide_post", -1),
    ("restore", "hidden", "restore_post", 1),
    ("delete", "visible", "delete_post", -1),
]


@pytest.mark.parametrize(("verb", "state", "action", "delta"), POST_VERBS)
async def test_two_moderators_on_one_post_one_succeeds_counters_move_once(
    servers: Servers, verb: str, state: str, action: str, delta: int
) -> None:
    scene = await _scene(servers, state)
    replies, posts = await _counts(servers, scene)
    winner = await _race(
        scene,
        lambda c: c.post(f"/api/v1/mod/posts/{scene.reply.id}/{verb}", json={"reason": "r"}),
        204,
    )
    assert await _counts(servers, scene) == (replies + delta, posts + delta)
    entries = await _audit(servers, "post", scene.reply.id)
    assert [e for e in entries if e[0] == action] == [(action, winner)]


async def test_two_moderators_resolving_one_flag_one_succeeds(servers: Servers) -> None:
    scene = await _scene(servers)
    async with servers.db.sessionmaker() as s:
        reporter = await s.get_one(User, scene.member.id)
        post = await s.get_one(Post, scene.reply.id)
        flagged = await flag_post(s, reporter=reporter, post=post, reason=FlagReason.spam)
        await s.commit()
    winner = await _race(
        scene,
        lambda c: c.post(
            f"/api/v1/mod/flags/{flagged.flag.id}/resolve",
            json={"action": "dismiss", "reason": "fine"},
        ),
        200,
    )
    async with servers.db.sessionmaker() as s:
        flag = await s.get_one(Flag, flagged.flag.id)
        assert (flag.resolution, flag.resolved_by_name) == ("dismissed", winner)
    assert await _audit(servers, "post", scene.reply.id) == [("dismiss_flags", winner)]


DISCUSSION_VERBS = [
    # the change asked twice, the audit action, what the discussion was before
    ({"locked": True}, "lock", {}),
    ({"locked": False}, "unlock", {"locked": True}),
    ({"pinned": True}, "pin", {}),
    ({"pinned": False}, "unpin", {"pinned": True}),
    ({"group": "other"}, "move", {}),
]


@pytest.mark.parametrize(("change", "action", "before"), DISCUSSION_VERBS)
async def test_two_moderators_on_one_discussion_one_succeeds(
    servers: Servers, change: dict[str, Any], action: str, before: dict[str, Any]
) -> None:
    scene = await _scene(servers)
    url = f"/api/v1/mod/discussions/{scene.discussion.id}"
    if before:
        assert (await scene.first.patch(url, json=before)).status_code == 204
    if change.get("group") == "other":
        change = {"group": scene.other_group.slug}
    winner = await _race(scene, lambda c: c.patch(url, json={**change, "reason": "r"}), 204)
    entries = await _audit(servers, "discussion", scene.discussion.id)
    assert [e for e in entries if e[0] == action] == [(action, winner)]
    if action == "move":
        async with servers.db.sessionmaker() as s:
            counts = [
                (await s.get_one(Group, g.id)).discussion_count
                for g in (scene.group, scene.other_group)
            ]
        assert counts == [0, 1]


MEMBER_VERBS = [
    ({"suspend": True, "reason": "spam wave"}, "suspend", None, Role.moderator),
    ({"suspend": False, "reason": "appeal"}, "unsuspend", {"suspend": True, "reason": "x"}, None),
    ({"role": "mentor", "reason": "volunteer"}, "set_role", None, Role.admin),
]


@pytest.mark.parametrize(("change", "action", "before", "role"), MEMBER_VERBS)
async def test_two_moderators_on_one_member_one_succeeds(
    servers: Servers,
    change: dict[str, Any],
    action: str,
    before: dict[str, Any] | None,
    role: Role | None,
) -> None:
    scene = await _scene(servers, role=role or Role.moderator)
    url = f"/api/v1/mod/users/{scene.member.username}"
    if before:
        assert (await scene.first.patch(url, json=before)).status_code == 200
    winner = await _race(scene, lambda c: c.patch(url, json=change), 200)
    entries = await _audit(servers, "user", scene.member.id)
    assert [e for e in entries if e[0] == action] == [(action, winner)]


Verb = Callable[[Any, User, Scene], Awaitable[Callable[[], Awaitable[Any]]]]


async def _post_verb(name: str) -> Verb:
    async def load(s: Any, mod: User, scene: Scene) -> Callable[[], Awaitable[Any]]:
        post = await s.get_one(Post, scene.reply.id)
        verb = getattr(moderation, name)
        return lambda: verb(s, moderator=mod, post=post, reason="r")

    return load


async def _load_discussion(s: Any, scene: Scene) -> Discussion:
    return await s.get_one(Discussion, scene.discussion.id)  # type: ignore[no-any-return]


async def lock(s: Any, mod: User, scene: Scene) -> Callable[[], Awaitable[Any]]:
    d = await _load_discussion(s, scene)
    return lambda: moderation.set_locked(s, moderator=mod, discussion=d, locked=True)


async def pin(s: Any, mod: User, scene: Scene) -> Callable[[], Awaitable[Any]]:
    d = await _load_discussion(s, scene)
    return lambda: moderation.set_pinned(s, moderator=mod, discussion=d, pinned=True)


async def move(s: Any, mod: User, scene: Scene) -> Callable[[], Awaitable[Any]]:
    d = await _load_discussion(s, scene)
    g = await s.get_one(Group, scene.other_group.id)
    return lambda: moderation.move_discussion(s, moderator=mod, discussion=d, group=g)


async def _member(s: Any, scene: Scene) -> User:
    return await s.get_one(User, scene.member.id)  # type: ignore[no-any-return]


async def suspend(s: Any, mod: User, scene: Scene) -> Callable[[], Awaitable[Any]]:
    m = await _member(s, scene)
    return lambda: moderation.suspend_member(s, moderator=mod, member=m, until=None, reason="x")


async def unsuspend(s: Any, mod: User, scene: Scene) -> Callable[[], Awaitable[Any]]:
    m = await _member(s, scene)
    return lambda: moderation.unsuspend_member(s, moderator=mod, member=m)


async def role(s: Any, mod: User, scene: Scene) -> Callable[[], Awaitable[Any]]:
    m = await _member(s, scene)
    return lambda: moderation.set_role(s, admin=mod, member=m, role=Role.mentor)


async def dismiss(s: Any, mod: User, scene: Scene) -> Callable[[], Awaitable[Any]]:
    from app.moderation import flags

    flag = await s.scalar(select(Flag).where(Flag.post_id == scene.reply.id))
    return lambda: flags.resolve_flag(s, moderator=mod, flag=flag, action="dismiss")


INTERLEAVED = {
    "approve": ("held", Role.moderator),
    "hide": ("visible", Role.moderator),
    "restore": ("hidden", Role.moderator),
    "delete": ("visible", Role.moderator),
    "dismiss": ("flagged", Role.moderator),
    "lock": ("visible", Role.moderator),
    "pin": ("visible", Role.moderator),
    "move": ("visible", Role.moderator),
    "suspend": ("visible", Role.moderator),
    "unsuspend": ("suspended", Role.moderator),
    "role": ("visible", Role.admin),
}
POST_VERB_NAMES = {
    "approve": "approve_post",
    "hide": "hide_post",
    "restore": "restore_post",
    "delete": "moderator_delete_post",
}


@pytest.mark.parametrize("verb", list(INTERLEAVED))
async def test_the_second_moderator_waits_for_the_first_and_then_answers_409(
    servers: Servers, verb: str
) -> None:
    """Interleaved by hand on two connections: both moderators loaded the same state; the
    second acts while the first's change is not yet committed, waits for it (row lock on
    PostgreSQL, write lock on SQLite), then finds the work done and answers 409 naming the
    first. Counters and the audit log moved once."""
    state, mod_role = INTERLEAVED[verb]
    scene = await _scene(servers, state if state in ("held", "hidden") else "visible", mod_role)
    async with servers.db.sessionmaker() as s:
        if state == "flagged":
            reporter = await s.get_one(User, scene.member.id)
            post = await s.get_one(Post, scene.reply.id)
            await flag_post(s, reporter=reporter, post=post, reason=FlagReason.spam)
        if state == "suspended":
            m = await s.get_one(User, scene.member.id)
            m.suspended_at = utcnow()
        await s.commit()
    before = await _counts(servers, scene)
    audit_before = len(await _audit_all(servers))
    load: Verb = (
        await _post_verb(POST_VERB_NAMES[verb]) if verb in POST_VERB_NAMES else globals()[verb]
    )
    makers = [app.state.db.sessionmaker for app in servers.apps]
    async with makers[0]() as first, makers[1]() as second:
        mods = [
            await first.scalar(select(User).where(User.username == scene.names[0])),
            await second.scalar(select(User).where(User.username == scene.names[1])),
        ]
        assert mods[0] is not None and mods[1] is not None
        act_first = await load(first, mods[0], scene)
        act_second = await load(second, mods[1], scene)  # the same state, seen before
        await act_first()
        task = asyncio.create_task(act_second())
        await asyncio.sleep(0.4)
        assert not task.done()  # waiting for the first's row (PostgreSQL) or write (SQLite)
        await first.commit()
        with pytest.raises(Conflict) as raised:
            await asyncio.wait_for(task, 20)
        await second.rollback()
    assert scene.names[0] in raised.value.detail, raised.value.detail
    assert raised.value.extra["resolved_by"] == scene.names[0]
    after = await _counts(servers, scene)
    moved = {"approve": 1, "restore": 1, "hide": -1, "delete": -1}.get(verb, 0)
    assert after == (before[0] + moved, before[1] + moved)
    assert len(await _audit_all(servers)) == audit_before + 1


async def _audit_all(servers: Servers) -> list[int]:
    async with servers.db.sessionmaker() as s:
        return list((await s.scalars(select(AuditEntry.id))).all())


async def test_an_author_deleting_while_a_moderator_hides_moves_the_counters_once(
    servers: Servers,
) -> None:
    """Not two moderators, but the same race: the author's own delete is a conditional write
    too, so whichever lands first, the visible reply leaves the counts exactly once."""
    for _ in range(3):
        scene = await _scene(servers, "visible")
        replies, posts = await _counts(servers, scene)
        author = await _client(servers, 0, scene.author)
        deleted, hidden = await asyncio.gather(
            author.delete(f"/api/v1/posts/{scene.reply.id}"),
            scene.second.post(f"/api/v1/mod/posts/{scene.reply.id}/hide", json={"reason": "r"}),
        )
        assert deleted.status_code == 204, deleted.text
        # hidden first (204), or found already deleted (422 post_deleted / 409)
        assert hidden.status_code in (204, 409, 422), hidden.text
        assert await _counts(servers, scene) == (replies - 1, posts - 1)
