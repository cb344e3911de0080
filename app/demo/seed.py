"""Demo data: groups, a member of every role, and the seed exchange from a hospital-run
patient community replayed as a threaded discussion. Idempotent: running it twice changes
nothing (users and groups are looked up first, posts carry client keys)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.core.security import PasswordHasher
from app.db import utcnow
from app.discussions import posting
from app.discussions.models import Discussion, Post
from app.groups.models import Group
from app.groups.service import create_group
from app.moderation import service as moderation

DATA = Path(__file__).parent / "data"
EXCHANGE_FILE = DATA / "connect-exchange-neutropenia.txt"
DEMO_PASSWORD = "kindred-demo-2026"  # noqa: S105 (demo accounts, printed on purpose)

GROUPS = [
    (
        "blood-cancers-disorders",
        "Blood Cancers & Disorders",
        "Leukemia, lymphoma, myeloma, neutropenia, anemia and other blood conditions.",
    ),
    (
        "childrens-health",
        "Children's Health",
        "For parents and caregivers of children with a health condition.",
    ),
    (
        "infectious-diseases",
        "Infectious Diseases",
        "Living with and recovering from infections: EBV, CMV, C. diff and more.",
    ),
    ("caregivers", "Caregivers", "Support for the people who care for a loved one."),
]

USERS: list[tuple[str, Role, str]] = [
    ("newsnetwork", Role.moderator, "Articles from the hospital's news network."),
    ("colleenyoung", Role.moderator, "Community director. I help you find your way around."),
    ("johnbishop", Role.mentor, "Volunteer mentor. Patient, not a medical professional."),
    ("hopeful33250", Role.mentor, "Volunteer mentor in the blood disorders group."),
    ("dsm", Role.member, ""),
    ("sonia85", Role.member, "Caring for my husband."),
    ("siteadmin", Role.admin, "Keeps the lights on."),
]


@dataclass(frozen=True)
class SeedPost:
    author: str
    first_line: int  # 1-based, inclusive, in EXCHANGE_FILE
    last_line: int
    reply_to: int | None  # index in EXCHANGE of the post answered; None: the discussion


EXCHANGE_TITLE = "My 1-year-old has neutropenia: what are our options?"
# Who wrote which lines of the seed, and whom each one answered (the seed is flat text; the
# @mentions and the replies' content say who was talking to whom).
EXCHANGE = [
    SeedPost("newsnetwork", 2, 12, None),  # 0 the question and the doctor's answer
    SeedPost("dsm", 13, 15, None),  # 1 a member's own history, asks for a second opinion
    SeedPost("colleenyoung", 16, 16, 1),  # 2 moderator: virtual appointments, request link
    SeedPost("sonia85", 17, 20, 2),  # 3 "Dear @colleenyoung i need your help"
    SeedPost("johnbishop", 21, 21, 3),  # 4 mentor: "we are not medical professionals"
    SeedPost("sonia85", 22, 23, 4),  # 5
    SeedPost("hopeful33250", 24, 26, 5),  # 6 mentor, repeats the reminder
    SeedPost("sonia85", 27, 32, 6),  # 7 "Dear @hopeful33250"
    SeedPost("johnbishop", 33, 33, 7),  # 8 ME/CFS discussions link
    SeedPost("colleenyoung", 34, 34, 7),  # 9 moderator: appointment request link
    SeedPost("sonia85", 35, 39, 9),  # 10 "Dear @colleeyoung" (misspelt): abroad, Iraq
]

OTHER_DISCUSSIONS = [
    (
        "childrens-health",
        "hopeful33250",
        "Keeping a toddler's infection diary",
        "What helped us most was a simple diary of fevers, antibiotics and blood counts to bring "
        "to every appointment. Does anyone else keep one? What do you track?",
    ),
    (
        "infectious-diseases",
        "johnbishop",
        "EBV and CMV results: questions to ask your doctor",
        "A list of questions members found useful after a positive EBV or CMV test. "
        "Please add yours — and remember we are patients, not medical professionals.",
    ),
]


def exchange_bodies() -> list[str]:
    lines = EXCHANGE_FILE.read_text(encoding="utf-8").splitlines()
    # one seed line is one paragraph: keep the author's line breaks
    return ["\n\n".join(lines[p.first_line - 1 : p.last_line]) for p in EXCHANGE]


async def _ensure_user(
    session: AsyncSession, hasher: PasswordHasher, username: str, role: Role, bio: str
) -> User:
    user = await accounts.get_user_by_username(session, username)
    if user is None:
        user = await accounts.register(
            session,
            hasher,
            username=username,
            email=f"{username}@demo.kindred.test",
            password=DEMO_PASSWORD,
            role=role,
        )
        user.bio = bio
        # demo addresses count as confirmed, so the demo's notification e-mail is written
        # to var/mail (unverified members get none)
        user.email_verified_at = utcnow()
        await session.flush()
    return user


async def _ensure_group(session: AsyncSession, slug: str, name: str, description: str) -> Group:
    group = await session.scalar(select(Group).where(Group.slug == slug))
    return group or await create_group(session, slug=slug, name=name, description=description)


async def load_demo(
    session: AsyncSession, hasher: PasswordHasher, progress: Callable[[str], None] | None = None
) -> Discussion:
    """Create (or find) everything; returns the seed discussion."""
    step = progress or (lambda _msg: None)
    groups = {}
    for slug, name, description in GROUPS:
        groups[slug] = await _ensure_group(session, slug, name, description)
        step(f"group {name}")
    users = {}
    for username, role, bio in USERS:
        users[username] = await _ensure_user(session, hasher, username, role, bio)
        step(f"member {username}")

    bodies = exchange_bodies()
    posts: list[Post] = []
    discussion: Discussion | None = None
    for index, (seed, body) in enumerate(zip(EXCHANGE, bodies, strict=True)):
        author = users[seed.author]
        key = f"demo-exchange-{index}"
        if index == 0:
            written = await posting.start_discussion(
                session,
                author=author,
                group=groups["blood-cancers-disorders"],
                title=EXCHANGE_TITLE,
                body=body,
                client_key=key,
            )
        else:
            assert discussion is not None
            reply_to = posts[seed.reply_to].id if seed.reply_to is not None else None
            written = await posting.reply(
                session,
                author=author,
                discussion=discussion,
                body=body,
                reply_to_id=reply_to,
                client_key=key,
            )
        if written.created and written.pending:
            # new members' first posts wait for review; the community's moderator approves
            await moderation.approve_post(
                session,
                moderator=users["colleenyoung"],
                post=written.post,
                reason="First posts of a new member",
            )
        discussion = written.discussion
        posts.append(written.post)
        step(f"post {index + 1} of {len(EXCHANGE)} by {seed.author}")

    for index, (slug, username, title, body) in enumerate(OTHER_DISCUSSIONS):
        await posting.start_discussion(
            session,
            author=users[username],
            group=groups[slug],
            title=title,
            body=body,
            client_key=f"demo-other-{index}",
        )
        step(f"discussion {title}")
    from app.demo.library import load_demo_library

    await load_demo_library(session)
    step("health library: Infantile Neutropenia")
    assert discussion is not None
    return discussion


def demo_step_count() -> int:
    return len(GROUPS) + len(USERS) + len(EXCHANGE) + len(OTHER_DISCUSSIONS) + 1
