"""A large, realistic forum written straight into the tables with bulk Core inserts.

The service layer would take hours for 200,000 posts one row at a time; here every chunk of
discussions is generated in memory and written with a few `executemany` statements. The
result obeys the same invariants the services keep:

- a reply answering the discussion has `reply_to_id` NULL, `root_id` NULL and depth 0;
  a nested reply has `reply_to_id` = its parent, `root_id` = the top-level reply its branch
  hangs from, depth = parent's depth + 1 (see `app.discussions.models.Post`);
- ids grow with `created_at` (posts of a chunk are numbered in time order, so a discussion's
  replies interleave with its neighbours' the way they do on a live forum);
- `discussions.reply_count` / `top_level_count`, `groups.discussion_count` /
  `last_activity_at`, `users.post_count` and `posts.helpful_count` / `hug_count` match the
  rows that exist.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Dialect, Table, bindparam, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

import app.models  # noqa: F401  (registers every table on Base.metadata)
from app.core.markdown import render_markdown
from app.core.security import PasswordHasher
from app.core.text import slugify
from app.db import Base, make_engine
from app.demo.seed import GROUPS as DEMO_GROUPS
from app.search.index import post_document

BENCH_USERNAME = "bench"
BENCH_PASSWORD = "kindred-bench-2026"  # noqa: S105 (a throw-away local account)
MARKER_PREFIX = "kindred-bench seed v1"

GROUPS: list[tuple[str, str, str]] = [
    *DEMO_GROUPS,
    ("heart-rhythm", "Heart Rhythm Conditions", "AFib, SVT, pacemakers and ablations."),
    ("digestive-health", "Digestive Health", "Crohn's, colitis, IBS, celiac disease and more."),
]
# how discussions spread over the groups: a couple of busy groups, a long tail
GROUP_WEIGHTS = [6, 3, 3, 2, 2, 1]

TABLES = Base.metadata.tables


def table(name: str) -> Table:
    return TABLES[name]


@dataclass(frozen=True, slots=True)
class SeedPlan:
    discussions: int = 10_000
    replies: int = 20
    users: int = 500
    seed: int = 2026
    top_level_share: float = 0.4  # the rest answer an earlier reply

    @property
    def marker(self) -> str:
        """Stored as the bench user's bio, so --reuse can tell whether the data matches."""
        return (
            f"{MARKER_PREFIX}: discussions={self.discussions} replies={self.replies} "
            f"users={self.users} seed={self.seed}"
        )

    @property
    def total_posts(self) -> int:
        return self.discussions * (self.replies + 1)


# -- text -------------------------------------------------------------------------------

CONDITIONS = [
    "neutropenia",
    "atrial fibrillation",
    "Crohn's disease",
    "chronic fatigue",
    "long COVID",
    "EBV",
    "CMV",
    "iron-deficiency anemia",
    "lymphoma",
    "ulcerative colitis",
    "SVT",
    "celiac disease",
    "MGUS",
    "a pacemaker",
    "C. diff",
]
TITLES = [
    "New diagnosis of {c}: where do I start?",
    "Has anyone else been told they have {c}?",
    "Living with {c} and working full time",
    "Questions to ask at my first appointment about {c}",
    "My mother was just diagnosed with {c}",
    "How do you manage the fatigue with {c}?",
    "Second opinion on {c}: worth it?",
    "Diet changes that helped with {c}",
    "Scared about my test results ({c})",
    "Caring for a child with {c}",
    "Travelling abroad with {c}",
    "Anyone tried a support group for {c}?",
]
SENTENCES = [
    "I was diagnosed last spring and I am still trying to understand what it means for me.",
    "My doctor ordered more blood work and we are waiting for the results.",
    "The fatigue is the hardest part, some days I cannot get out of bed before noon.",
    "Thank you so much for sharing your story, it helps to know I am not alone.",
    "Please remember that we are patients here, not medical professionals.",
    "Have you been able to ask your care team about a referral to a specialist?",
    "We keep a simple diary of symptoms, medicines and appointments, and it helps a lot.",
    "My husband came with me to the last appointment and took notes, which was a relief.",
    "It took almost two years before anyone could tell us what was going on.",
    "I found that smaller meals through the day made a real difference.",
    "The waiting is awful, I hope you hear back from them soon.",
    "Our pediatrician suggested we check counts again in three months.",
    "I would ask whether the dose can be adjusted before stopping anything.",
    "Some members have found the hospital's patient education pages useful.",
    "Sending you a big hug, and please let us know how the appointment goes.",
    "I have had the same symptoms on and off for years and learned to pace myself.",
    "It is completely normal to feel overwhelmed after a diagnosis like this.",
    "My cardiologist explained the options but I am still unsure which way to go.",
    "Insurance approved the treatment after an appeal, so do not give up.",
    "I write my questions down before every visit or I forget half of them.",
    "The nurse line was very helpful when I had a fever over the weekend.",
    "We switched to a gluten-free kitchen and it took some getting used to.",
    "Exercise is hard but short walks seem to help my energy a little.",
    "Has anyone had the procedure done as an outpatient?",
    "I am three months out from treatment and slowly feeling more like myself.",
    "Welcome to the group, you will find a lot of kind people here.",
    "It might be worth asking about a virtual appointment if travel is difficult.",
    "My results came back normal this time, which was a huge relief.",
    "Sleep has been a struggle, so I started a routine with no screens after nine.",
    "Do you know whether your clinic has a social worker who could help?",
]
EXTRAS = [
    "**Update:** the specialist called back and we have an appointment next week.",
    "Things that helped us:\n\n- a symptom diary\n- a list of medicines\n- a second opinion",
    "There is a good overview at https://www.example.org/patient-education if it helps.",
    "> It took almost two years before anyone could tell us what was going on.\n\nSame here.",
    "1. Ask for a copy of every result.\n2. Bring someone along.\n3. Write questions down.",
    "_Edit:_ I meant the morning dose, not the evening one.",
]


def _paragraph(rng: random.Random) -> str:
    return " ".join(rng.sample(SENTENCES, rng.randint(2, 5)))


def _body(rng: random.Random, paragraphs: tuple[int, int]) -> str:
    parts = [_paragraph(rng) for _ in range(rng.randint(*paragraphs))]
    if rng.random() < 0.3:
        parts.insert(rng.randint(0, len(parts)), rng.choice(EXTRAS))
    return "\n\n".join(parts)


@dataclass(slots=True)
class BodyPool:
    """Markdown bodies with their HTML rendered once (identical bodies share a render)."""

    openings: list[tuple[str, str]]
    replies: list[tuple[str, str]]

    @classmethod
    def build(cls, rng: random.Random, openings: int = 300, replies: int = 1500) -> BodyPool:
        cache: dict[str, str] = {}

        def rendered(md: str) -> tuple[str, str]:
            if md not in cache:
                cache[md] = render_markdown(md)
            return md, cache[md]

        return cls(
            openings=[rendered(_body(rng, (2, 4))) for _ in range(openings)],
            replies=[rendered(_body(rng, (1, 3))) for _ in range(replies)],
        )


# -- rows ---------------------------------------------------------------------------------

FIRST_NAMES = [
    "anna", "ben", "carla", "dev", "elena", "farid", "grace", "hugo", "ines", "jamal", "kate",
    "luis", "maya", "nora", "omar", "priya", "quinn", "rosa", "sam", "tariq", "uma", "vera",
    "will", "xia", "yusuf", "zoe",
]  # fmt: skip
NAME_SUFFIXES = ["", "_k", "mom", "dad", "rn", "_uk", "2", "77", "_ca", "_nz"]
HELPFUL_DIST = [0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 5]
HUG_DIST = [0, 0, 0, 0, 0, 0, 0, 1, 1, 2]


def user_rows(plan: SeedPlan, rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    """The bench user first (id 1, never an author of seeded posts), then the members."""
    password_hash = PasswordHasher().context.hash(BENCH_PASSWORD)
    names: list[str] = [BENCH_USERNAME]
    taken = {BENCH_USERNAME}
    while len(names) < plan.users + 1:
        name = f"{rng.choice(FIRST_NAMES)}{rng.choice(NAME_SUFFIXES)}{rng.randint(1, 999)}"
        if name not in taken:
            taken.add(name)
            names.append(name)
    rows = []
    for index, name in enumerate(names):
        if index == 0:
            role, bio = "member", plan.marker
        else:
            draw = rng.random()
            role = "admin" if index == 1 else "moderator" if draw < 0.01 else "member"
            role = "mentor" if role == "member" and draw < 0.04 else role
            bio = _paragraph(rng) if rng.random() < 0.3 else ""
        created = now - timedelta(days=1100 - rng.uniform(0, 300))
        rows.append(
            dict(
                id=index + 1,
                username=name,
                username_key=name.lower(),
                email=f"{name}@bench.kindred.test",
                email_key=f"{name}@bench.kindred.test",
                password_hash=password_hash,
                role=role,
                bio=bio,
                post_count=0,
                created_at=created,
                password_changed_at=created,
            )
        )
    return rows


def group_rows(now: datetime) -> list[dict[str, Any]]:
    return [
        dict(
            id=index + 1,
            slug=slug,
            name=name,
            description=description,
            discussion_count=0,
            created_at=now - timedelta(days=1200),
            last_activity_at=None,
        )
        for index, (slug, name, description) in enumerate(GROUPS)
    ]


@dataclass(slots=True, eq=False)
class _Draft:
    at: datetime
    discussion_id: int
    author_id: int
    body: tuple[str, str]
    opening: bool = False
    parent: _Draft | None = None
    root: _Draft | None = None
    depth: int = 0
    id: int = 0


@dataclass(slots=True)
class Chunk:
    discussions: list[dict[str, Any]]
    posts: list[dict[str, Any]]
    reactions: list[dict[str, Any]]


@dataclass(slots=True)
class Generator:
    """Makes discussions in id order, chunk by chunk, and keeps the running totals."""

    plan: SeedPlan
    rng: random.Random
    bodies: BodyPool
    now: datetime
    next_post_id: int = 1
    post_counts: Counter[int] = field(default_factory=Counter)
    group_counts: Counter[int] = field(default_factory=Counter)
    group_activity: dict[int, datetime] = field(default_factory=dict)

    @property
    def start(self) -> datetime:
        return self.now - timedelta(days=730)

    @property
    def slot(self) -> timedelta:
        # each discussion starts in its own slot; the last few days stay free for replies
        return timedelta(days=727) / max(1, self.plan.discussions)

    def _author(self) -> int:
        return self.rng.randint(2, self.plan.users + 1)

    def _replies(self, opening: _Draft) -> list[_Draft]:
        rng, plan = self.rng, self.plan
        latest = self.now - timedelta(minutes=1)
        replies: list[_Draft] = []
        at = opening.at
        for index in range(plan.replies):
            at = min(latest, at + timedelta(seconds=rng.expovariate(1 / 10_800)))
            draft = _Draft(
                at, opening.discussion_id, self._author(), rng.choice(self.bodies.replies)
            )
            if index > 0 and rng.random() >= plan.top_level_share:
                # most answers go to one of the last few replies: conversations drift
                parent = rng.choice(replies[-6:])
                draft.parent = parent
                draft.root = parent.root or parent
                draft.depth = parent.depth + 1
            replies.append(draft)
        return replies

    def chunk(self, first_id: int, count: int) -> Chunk:
        rng = self.rng
        discussions: list[dict[str, Any]] = []
        drafts: list[_Draft] = []
        for discussion_id in range(first_id, first_id + count):
            started = self.start + self.slot * (discussion_id - 1 + rng.random())
            group_id = rng.choices(range(1, len(GROUPS) + 1), weights=GROUP_WEIGHTS)[0]
            opening = _Draft(
                started, discussion_id, self._author(), rng.choice(self.bodies.openings), True
            )
            replies = self._replies(opening)
            drafts.append(opening)
            drafts.extend(replies)
            last = replies[-1].at if replies else started
            title = rng.choice(TITLES).format(c=rng.choice(CONDITIONS))
            discussions.append(
                dict(
                    id=discussion_id,
                    group_id=group_id,
                    author_id=opening.author_id,
                    title=title,
                    slug=slugify(title),
                    reply_count=len(replies),
                    top_level_count=sum(1 for r in replies if r.parent is None),
                    created_at=started,
                    last_activity_at=last,
                    deleted_at=None,
                )
            )
            self.group_counts[group_id] += 1
            if group_id not in self.group_activity or self.group_activity[group_id] < last:
                self.group_activity[group_id] = last
        # number posts in time order (stable: a reply never precedes the post it answers)
        drafts.sort(key=lambda d: d.at)
        for draft in drafts:
            draft.id = self.next_post_id
            self.next_post_id += 1
        posts: list[dict[str, Any]] = []
        reactions: list[dict[str, Any]] = []
        for draft in drafts:
            helpful = self._react(draft, "helpful", rng.choice(HELPFUL_DIST), reactions)
            hug = self._react(draft, "hug", rng.choice(HUG_DIST), reactions)
            self.post_counts[draft.author_id] += 1
            posts.append(
                dict(
                    id=draft.id,
                    discussion_id=draft.discussion_id,
                    author_id=draft.author_id,
                    reply_to_id=draft.parent.id if draft.parent else None,
                    root_id=draft.root.id if draft.root else None,
                    depth=draft.depth,
                    is_opening=draft.opening,
                    body_md=draft.body[0],
                    body_html=draft.body[1],
                    client_key=None,
                    helpful_count=helpful,
                    hug_count=hug,
                    edit_count=0,
                    created_at=draft.at,
                    edited_at=None,
                    deleted_at=None,
                    deleted_by_id=None,
                )
            )
        return Chunk(discussions, posts, reactions)

    def _react(self, draft: _Draft, kind: str, wanted: int, out: list[dict[str, Any]]) -> int:
        """`wanted` reactions from distinct members other than the author (the bench user
        included, so the viewer's own reactions show on some pages)."""
        if wanted == 0:
            return 0
        pool = self.rng.sample(range(1, self.plan.users + 2), wanted + 1)
        who = [u for u in pool if u != draft.author_id][:wanted]
        at = min(self.now, draft.at + timedelta(minutes=self.rng.randint(1, 600)))
        out.extend(dict(post_id=draft.id, user_id=u, kind=kind, created_at=at) for u in who)
        return len(who)


# -- writing --------------------------------------------------------------------------------

CHUNK_DISCUSSIONS = 200


def search_rows(chunk: Chunk, texts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The search index's documents for a chunk's posts, as the app writes them (each
    distinct body's text extracted once)."""
    titles = {d["id"]: d["title"] for d in chunk.discussions}
    groups = {d["id"]: d["group_id"] for d in chunk.discussions}
    rows = []
    for post in chunk.posts:
        title = titles[post["discussion_id"]] if post["is_opening"] else None
        key = post["body_html"]
        if key not in texts:
            texts[key] = post_document(
                post_id=0, discussion_id=0, title=None, body_html=key, created_at=post["created_at"]
            )
        row = dict(texts[key])
        row.update(
            source_id=post["id"],
            discussion_id=post["discussion_id"],
            group_id=groups[post["discussion_id"]],
            created_at=post["created_at"],
        )
        if title is not None:
            row["title"] = post_document(
                post_id=0, discussion_id=0, title=title, body_html="", created_at=post["created_at"]
            )["title"]
        rows.append(row)
    return rows


# Below this many rows a plain executemany is as quick as COPY and needs no raw connection.
COPY_MIN_ROWS = 50


def copy_records(t: Table, rows: list[dict[str, Any]], dialect: Dialect) -> CopyRecords:
    """The columns and tuples COPY takes for `rows`: the given columns, then every other
    column with a Python-side default (COPY only knows the server's defaults), each value
    passed through its type's bind processor as an INSERT would."""
    given = list(rows[0])
    defaults: dict[str, Any] = {}
    for column in t.columns:
        if column.key in rows[0] or column.computed is not None or column.default is None:
            continue
        default = column.default
        if isinstance(default, ScalarElementColumnDefault):
            defaults[column.key] = default.arg
        elif isinstance(default, CallableColumnDefault):
            defaults[column.key] = default.arg(None)  # utcnow and friends ignore the context
    columns = [*given, *defaults]
    processors = [t.c[name].type._cached_bind_processor(dialect) for name in columns]
    fill = tuple(defaults.values())
    records = []
    for row in rows:
        values = (*(row[name] for name in given), *fill)
        records.append(
            tuple(
                p(v) if p is not None and v is not None else v
                for p, v in zip(processors, values, strict=True)
            )
        )
    return CopyRecords(columns, records)


@dataclass(frozen=True, slots=True)
class CopyRecords:
    columns: list[str]
    records: list[tuple[Any, ...]]


async def _insert(conn: AsyncConnection, name: str, rows: list[dict[str, Any]]) -> None:
    """Bulk rows: COPY on PostgreSQL (asyncpg's `copy_records_to_table`, some five times
    quicker than executemany for a million posts), executemany elsewhere. COPY runs on the
    same connection, inside the transaction the first statement opened."""
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < COPY_MIN_ROWS:
        await conn.execute(table(name).insert(), rows)
        return
    await conn.execute(text("SELECT 1"))  # opens the transaction before COPY joins it
    raw = await conn.get_raw_connection()
    copy = copy_records(table(name), rows, conn.dialect)
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        name, records=copy.records, columns=copy.columns
    )


# the tables that take the bulk of the rows
BULK_TABLES = ("discussions", "posts", "reactions", "search_documents")


async def _drop_bulk_indexes(conn: AsyncConnection) -> list[str]:
    """PostgreSQL: drops the plain indexes of the bulk tables (not those behind a primary
    key or unique constraint) and returns their definitions, to be built again once the
    rows are in. One sorted build is far quicker than a million rows maintaining each
    index as they arrive, the two full-text GIN indexes above all."""
    if conn.dialect.name != "postgresql":
        return []
    found = (
        await conn.execute(
            text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
            ),
            {"tables": list(BULK_TABLES)},
        )
    ).all()
    for name, _definition in found:
        await conn.execute(text(f'DROP INDEX "{name}"'))
    return [definition for _name, definition in found]


async def seed_database(
    url: str, plan: SeedPlan, advance: Callable[[int, str], None] | None = None
) -> None:
    """Fill an empty, migrated database. `advance(n, what)` reports n more discussions."""
    step = advance or (lambda _n, _what: None)
    rng = random.Random(plan.seed)
    now = datetime.now(UTC).replace(microsecond=0)
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await _insert(conn, "groups", group_rows(now))
            await _insert(conn, "users", user_rows(plan, rng, now))
        step(0, f"{len(GROUPS)} groups, {plan.users + 1} members")
        async with engine.begin() as conn:
            rebuild = await _drop_bulk_indexes(conn)
        generator = Generator(plan, rng, BodyPool.build(rng), now)
        texts: dict[str, dict[str, Any]] = {}
        first = 1
        while first <= plan.discussions:
            count = min(CHUNK_DISCUSSIONS, plan.discussions - first + 1)
            chunk = generator.chunk(first, count)
            async with engine.begin() as conn:
                await _insert(conn, "discussions", chunk.discussions)
                await _insert(conn, "posts", chunk.posts)
                await _insert(conn, "reactions", chunk.reactions)
                await _insert(conn, "search_documents", search_rows(chunk, texts))
            first += count
            step(count, f"{generator.next_post_id - 1:,} posts")
        if rebuild:
            step(0, f"building {len(rebuild)} indexes")
            async with engine.begin() as conn:
                await conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
                for definition in rebuild:
                    await conn.execute(text(definition))
        async with engine.begin() as conn:
            users, groups = table("users"), table("groups")
            await conn.execute(
                update(users)
                .where(users.c.id == bindparam("uid"))
                .values(post_count=bindparam("n")),
                [{"uid": uid, "n": n} for uid, n in generator.post_counts.items()],
            )
            await conn.execute(
                update(groups)
                .where(groups.c.id == bindparam("gid"))
                .values(discussion_count=bindparam("n"), last_activity_at=bindparam("at")),
                [
                    {"gid": gid, "n": n, "at": generator.group_activity[gid]}
                    for gid, n in generator.group_counts.items()
                ],
            )
            if conn.dialect.name == "postgresql":
                # explicit ids leave the sequences behind: move them past the data
                for name in ("groups", "users", "discussions", "posts"):
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT max(id) FROM {name}))"
                        )
                    )
        if engine.dialect.name == "postgresql":
            # autovacuum would get there within minutes on a live server; do not wait for it
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE"))
        step(0, "done")
    finally:
        await engine.dispose()
