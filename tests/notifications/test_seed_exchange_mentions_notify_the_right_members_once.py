"""The seed exchange, replayed through the API as its authors wrote it: each @mention
notifies the member named, once; the misspelt @colleeyoung notifies nobody and the answer
suggests colleenyoung; a mentor watching the discussion hears of every later reply."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from app.accounts.models import Role, User
from app.demo.seed import EXCHANGE, EXCHANGE_TITLE, USERS, exchange_bodies
from app.notifications.models import Notification

# what each post of EXCHANGE mentions (index -> usernames), read from the seed text
MENTIONS = {
    2: ["dsm"],
    3: ["colleenyoung"],
    4: ["sonia85"],
    6: ["sonia85", "johnbishop"],
    7: ["hopeful33250"],
    8: ["sonia85"],
    9: ["sonia85"],
}


async def notifications_by_post(session: Any) -> dict[int, list[tuple[str, str]]]:
    rows = await session.execute(
        select(Notification.post_id, User.username, Notification.kind)
        .join(User, User.id == Notification.user_id)
        .order_by(Notification.id)
    )
    out: dict[int, list[tuple[str, str]]] = {}
    for post_id, username, kind in rows:
        out.setdefault(post_id, []).append((username, kind))
    return out


async def test_the_seed_exchange_notifies_each_mentioned_member_once(
    app, make_user, make_client, group, session
):
    users = {name: await make_user(name, role) for name, role, _bio in USERS}
    clients = {name: await make_client(user) for name, user in users.items()}
    watcher = await make_user("volunteer_vic", Role.mentor)
    vic = await make_client(watcher)
    bodies = exchange_bodies()

    r = await clients["newsnetwork"].api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": EXCHANGE_TITLE, "body": bodies[0]},
    )
    assert r.status_code == 201, r.text
    discussion_id = r.json()["id"]
    # a volunteer mentor watches the thread from the start
    r = await vic.api(
        "POST", f"/api/v1/discussions/{discussion_id}/follow", json={"level": "watching"}
    )
    assert r.status_code == 200 and r.json() == {"level": "watching"}

    opening = (await clients["newsnetwork"].get(f"/api/v1/discussions/{discussion_id}")).json()
    ids = [opening["posts"][0]["id"]]
    answers: dict[int, dict[str, Any]] = {}
    for index, (seed, body) in enumerate(zip(EXCHANGE, bodies, strict=True)):
        if index == 0:
            continue
        payload: dict[str, Any] = {"body": body}
        if seed.reply_to not in (None, 0):
            payload["reply_to"] = ids[seed.reply_to]
        r = await clients[seed.author].api(
            "POST", f"/api/v1/discussions/{discussion_id}/posts", json=payload
        )
        assert r.status_code == 201, r.text
        answers[index] = r.json()
        ids.append(r.json()["id"])

    # the API tells the writer whom the post mentions, and "did you mean" for the rest
    for index, answer in answers.items():
        assert answer["mentions"] == MENTIONS.get(index, []), index
    assert answers[10]["unknown_mentions"] == {"colleeyoung": ["colleenyoung"]}
    assert all(a["unknown_mentions"] == {} for i, a in answers.items() if i != 10)

    by_post = await notifications_by_post(session)
    for index in range(1, len(EXCHANGE)):
        post_id = ids[index]
        got = by_post.get(post_id, [])
        # one notification per member per post, never to the author
        counts = Counter(username for username, _kind in got)
        assert all(n == 1 for n in counts.values()), (index, got)
        assert EXCHANGE[index].author not in counts, (index, got)
        mentioned = sorted(u for u, kind in got if kind == "mention")
        assert mentioned == sorted(MENTIONS.get(index, [])), (index, got)
        # the watching mentor hears of every reply
        assert ("volunteer_vic", "watched_reply") in got, (index, got)

    # "Dear @colleeyoung": nobody is notified of a mention; colleenyoung hears of the post
    # only because it answers hers
    last = dict(by_post[ids[10]])
    assert "mention" not in last.values()
    assert last["colleenyoung"] == "reply_to_you"

    # johnbishop watches what he replied to: every later reply reaches him once
    after_his_first = [
        ids[i] for i in range(5, len(EXCHANGE)) if EXCHANGE[i].author != "johnbishop"
    ]
    for post_id in after_his_first:
        assert [u for u, _k in by_post[post_id]].count("johnbishop") == 1, post_id

    # what each mentioned member sees: one notification per post they were named in
    sonia = (await clients["sonia85"].get("/api/v1/notifications?limit=100")).json()
    mentions_of_sonia = [n for n in sonia["items"] if n["kind"] == "mention"]
    assert len(mentions_of_sonia) == 4
    assert all(n["url"].startswith("/posts/") for n in mentions_of_sonia)
    assert mentions_of_sonia[0]["text"] == f"colleenyoung mentioned you in “{EXCHANGE_TITLE}”"
    vic_list = (await vic.get("/api/v1/notifications?limit=100")).json()
    assert len(vic_list["items"]) == len(EXCHANGE) - 1
    assert vic_list["unread"] == len(EXCHANGE) - 1


async def test_the_demo_loader_replays_the_same_notifications(app, session):
    from app.demo.seed import load_demo

    discussion = await load_demo(session, app.state.hasher)
    await session.commit()
    by_post = await notifications_by_post(session)
    mention_counts = Counter(
        username for got in by_post.values() for username, kind in got if kind == "mention"
    )
    assert mention_counts == Counter(
        {"sonia85": 4, "dsm": 1, "colleenyoung": 1, "johnbishop": 1, "hopeful33250": 1}
    )
    # loading the demo again writes nothing new
    before = sum(len(v) for v in by_post.values())
    await load_demo(session, app.state.hasher)
    await session.commit()
    assert sum(len(v) for v in (await notifications_by_post(session)).values()) == before
    assert discussion.id
