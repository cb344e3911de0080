"""The library's rules: reading pages (through the access layer), importing content and
ClinicalTrials.gov studies, publishing, and the text search indexes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, can
from app.access.visibility import (
    can_see_library_page,
    visible_discussions,
    visible_groups,
    visible_library_pages,
)
from app.accounts.models import Actor
from app.core.errors import NotFound
from app.core.markdown import render_markdown
from app.core.validation import is_storable
from app.db import utcnow
from app.discussions.models import Discussion
from app.groups.models import Group
from app.library.content import ContentError, ContentErrors, PageContent
from app.library.matching import (
    MatchResult,
    SiteView,
    TrialView,
    match_trials,
    normalize,
    same_country,
    same_region,
)
from app.library.models import (
    Advance,
    LibraryPage,
    LibraryPerson,
    LibraryReference,
    LibrarySection,
    PageGroup,
    PageTrial,
    Specialist,
    Trial,
    TrialLocation,
)
from app.library.schemas import MatchIn, Tier, TrialIn, parse_age
from app.search.library import write_library_documents

RECENT_DISCUSSIONS = 5


def page_url(slug: str) -> str:
    return f"/library/{slug}"


# -- reading ---------------------------------------------------------------------------------


@dataclass(slots=True)
class GroupLink:
    slug: str
    name: str


@dataclass(slots=True)
class PageSummary:
    slug: str
    title: str
    also_called: list[str]
    summary: str
    groups: list[GroupLink] = field(default_factory=list)

    @property
    def url(self) -> str:
        return page_url(self.slug)


async def _groups_of(
    session: AsyncSession, page_ids: list[int], viewer: Actor | None
) -> dict[int, list[GroupLink]]:
    """The pages' linked groups this viewer may see (a visitor: the public ones)."""
    rows = await session.execute(
        select(PageGroup.page_id, Group.slug, Group.name)
        .join(Group, Group.id == PageGroup.group_id)
        .where(PageGroup.page_id.in_(page_ids), visible_groups(viewer))
        .order_by(PageGroup.page_id, PageGroup.position)
    )
    found: dict[int, list[GroupLink]] = {}
    for page_id, slug, name in rows:
        found.setdefault(page_id, []).append(GroupLink(slug, name))
    return found


async def list_pages(
    session: AsyncSession, *, viewer: Actor | None, matching: str = ""
) -> list[PageSummary]:
    """Every published page, A to Z by title, with its linked groups; with `matching`,
    those whose title, other names or summary contain it (ignoring case)."""
    pages = list(
        await session.scalars(
            select(LibraryPage)
            .where(visible_library_pages())
            .order_by(func.lower(LibraryPage.title), LibraryPage.id)
        )
    )
    wanted = matching.casefold().strip()
    if wanted:
        pages = [
            p
            for p in pages
            if wanted in p.title.casefold()
            or wanted in p.summary.casefold()
            or any(wanted in name.casefold() for name in p.also_called_list)
        ]
    groups = await _groups_of(session, [p.id for p in pages], viewer) if pages else {}
    return [
        PageSummary(p.slug, p.title, p.also_called_list, p.summary, groups.get(p.id, []))
        for p in pages
    ]


async def access_page(session: AsyncSession, slug: str, *, viewer: Actor | None) -> LibraryPage:
    """The page, if it exists and this viewer may see it (unpublished: admins only)."""
    page = None
    if len(slug) <= 80 and is_storable(slug):
        page = await session.scalar(select(LibraryPage).where(LibraryPage.slug == slug))
    if page is None or not can_see_library_page(viewer, page):
        raise NotFound("There is no library page at this address.")
    return page


@dataclass(slots=True)
class SpecialistView:
    name: str
    specialty: str
    tier: str
    city: str
    region: str
    country: str
    url: str
    is_sample: bool

    @property
    def place(self) -> str:
        return ", ".join(p for p in (self.city, self.region, self.country) if p)


@dataclass(slots=True)
class DiscussionLink:
    id: int
    title: str
    slug: str
    reply_count: int
    last_activity_at: Any
    group_slug: str
    group_name: str

    @property
    def url(self) -> str:
        return f"/discussions/{self.id}/{self.slug}"


@dataclass(slots=True)
class PageView:
    page: LibraryPage
    sections: list[LibrarySection]
    authors: list[LibraryPerson]
    reviewers: list[LibraryPerson]
    references: list[str]
    specialists: list[SpecialistView]
    trials: list[TrialView]
    advances: list[Advance]
    groups: list[GroupLink]
    discussions: list[DiscussionLink]
    review_overdue: bool

    @property
    def url(self) -> str:
        return page_url(self.page.slug)


async def page_trials(session: AsyncSession, page_id: int) -> list[TrialView]:
    trials = list(
        (
            await session.execute(
                select(Trial)
                .join(PageTrial, PageTrial.trial_id == Trial.id)
                .where(PageTrial.page_id == page_id)
                .order_by(PageTrial.position, Trial.registry_id)
            )
        ).scalars()
    )
    sites: dict[int, list[SiteView]] = {}
    if trials:
        rows = await session.scalars(
            select(TrialLocation)
            .where(TrialLocation.trial_id.in_([t.id for t in trials]))
            .order_by(TrialLocation.trial_id, TrialLocation.position)
        )
        for loc in rows:
            sites.setdefault(loc.trial_id, []).append(
                SiteView(loc.facility, loc.city, loc.region, loc.country, loc.status)
            )
    return [
        TrialView(
            registry_id=t.registry_id,
            title=t.title,
            summary=t.summary,
            status=t.status,
            conditions=[c for c in t.conditions.split("\n") if c],
            min_age_days=t.min_age_days,
            max_age_days=t.max_age_days,
            min_age_text=t.min_age_text,
            max_age_text=t.max_age_text,
            sex=t.sex,
            url=t.url,
            is_sample=t.is_sample,
            sites=sites.get(t.id, []),
        )
        for t in trials
    ]


async def recent_discussions(
    session: AsyncSession, group_ids: list[int], viewer: Actor | None
) -> list[DiscussionLink]:
    """The linked groups' latest discussions, through the access layer's listing filter:
    nothing held, hidden or deleted, nor (for a visitor) in a members-only group."""
    if not group_ids:
        return []
    rows = await session.execute(
        select(
            Discussion.id,
            Discussion.title,
            Discussion.slug,
            Discussion.reply_count,
            Discussion.last_activity_at,
            Group.slug,
            Group.name,
        )
        .join(Group, Group.id == Discussion.group_id)
        .where(Discussion.group_id.in_(group_ids), visible_discussions(viewer))
        .order_by(Discussion.last_activity_at.desc(), Discussion.id.desc())
        .limit(RECENT_DISCUSSIONS)
    )
    return [DiscussionLink(*row) for row in rows]


def is_review_overdue(page: LibraryPage, today: date | None = None) -> bool:
    return page.next_review_on is not None and page.next_review_on < (today or date.today())


async def page_view(session: AsyncSession, slug: str, *, viewer: Actor | None) -> PageView:
    page = await access_page(session, slug, viewer=viewer)
    sections = list(
        await session.scalars(
            select(LibrarySection)
            .where(LibrarySection.page_id == page.id)
            .order_by(LibrarySection.position)
        )
    )
    people = list(
        await session.scalars(
            select(LibraryPerson)
            .where(LibraryPerson.page_id == page.id)
            .order_by(LibraryPerson.kind, LibraryPerson.position)
        )
    )
    references = list(
        await session.scalars(
            select(LibraryReference.text)
            .where(LibraryReference.page_id == page.id)
            .order_by(LibraryReference.position)
        )
    )
    tier_rank = {t.value: n for n, t in enumerate(Tier)}
    specialists = sorted(
        (
            SpecialistView(
                s.name, s.specialty, s.tier, s.city, s.region, s.country, s.url, s.is_sample
            )
            for s in await session.scalars(
                select(Specialist)
                .where(Specialist.page_id == page.id)
                .order_by(Specialist.position)
            )
        ),
        key=lambda s: tier_rank.get(s.tier, 99),
    )
    advances = list(
        await session.scalars(
            select(Advance).where(Advance.page_id == page.id).order_by(Advance.position)
        )
    )
    group_rows = (
        await session.execute(
            select(Group.id, Group.slug, Group.name)
            .join(PageGroup, PageGroup.group_id == Group.id)
            .where(PageGroup.page_id == page.id, visible_groups(viewer))
            .order_by(PageGroup.position)
        )
    ).all()
    return PageView(
        page=page,
        sections=sections,
        authors=[p for p in people if p.kind == "author"],
        reviewers=[p for p in people if p.kind == "reviewer"],
        references=references,
        specialists=specialists,
        trials=await page_trials(session, page.id),
        advances=advances,
        groups=[GroupLink(slug, name) for _id, slug, name in group_rows],
        discussions=await recent_discussions(session, [row[0] for row in group_rows], viewer),
        review_overdue=can(viewer, Action.manage_library) and is_review_overdue(page),
    )


def filter_specialists(
    specialists: list[SpecialistView], *, tier: str | None, place: str | None
) -> list[SpecialistView]:
    """By tier (exactly) and by location (any of city, region or country, ignoring case)."""
    wanted = (place or "").strip()

    def near(s: SpecialistView) -> bool:
        return (
            not wanted
            or normalize(wanted) == normalize(s.city)
            or same_region(wanted, s.region)
            or same_country(wanted, s.country)
            or wanted.casefold() in s.place.casefold()
        )

    return [s for s in specialists if (not tier or s.tier == tier) and near(s)]


async def match_page_trials(
    session: AsyncSession, slug: str, *, viewer: Actor | None, criteria: MatchIn
) -> tuple[LibraryPage, MatchResult]:
    page = await access_page(session, slug, viewer=viewer)
    return page, match_trials(await page_trials(session, page.id), criteria)


# -- importing -------------------------------------------------------------------------------


@dataclass(slots=True)
class ImportSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


async def check_groups(session: AsyncSession, pages: list[PageContent]) -> dict[str, int]:
    """Group slugs -> ids; an unknown slug is an error naming the file and the field."""
    wanted = {slug for page in pages for slug in page.meta.groups}
    found = dict(
        (await session.execute(select(Group.slug, Group.id).where(Group.slug.in_(wanted)))).all()
    )
    errors = [
        ContentError(page.source, f"groups[{index}]", f"there is no group {slug!r}")
        for page in pages
        for index, slug in enumerate(page.meta.groups)
        if slug not in found
    ]
    if errors:
        raise ContentErrors(errors)
    return found


def _trial_values(trial: TrialIn) -> dict[str, Any]:
    min_days, min_text = parse_age(trial.min_age) if trial.min_age else (None, "")
    max_days, max_text = parse_age(trial.max_age) if trial.max_age else (None, "")
    return {
        "title": trial.title,
        "summary": trial.summary,
        "status": trial.status.value,
        "conditions": "\n".join(trial.conditions),
        "min_age_days": min_days,
        "max_age_days": max_days,
        "min_age_text": min_text,
        "max_age_text": max_text,
        "sex": trial.sex.value,
        "url": trial.url,
        "is_sample": trial.sample,
        "updated_at": utcnow(),
    }


async def upsert_trial(session: AsyncSession, trial: TrialIn) -> int:
    """The trial's row (by registry id), written as given, its sites replaced."""
    existing = await session.scalar(select(Trial).where(Trial.registry_id == trial.id))
    values = _trial_values(trial)
    if existing is None:
        existing = Trial(registry_id=trial.id, **values)
        session.add(existing)
        await session.flush()
    else:
        for key, value in values.items():
            setattr(existing, key, value)
        await session.execute(delete(TrialLocation).where(TrialLocation.trial_id == existing.id))
    session.add_all(
        TrialLocation(
            trial_id=existing.id,
            position=n,
            facility=loc.facility,
            city=loc.city,
            region=loc.region,
            country=loc.country,
            status=loc.status.value,
        )
        for n, loc in enumerate(trial.locations)
    )
    return existing.id


async def import_page(
    session: AsyncSession, *, content: PageContent, group_ids: dict[str, int]
) -> bool:
    """Create or rewrite one page; True when it is new. The page keeps its id (and so its
    saved items) and its published flag; its children are replaced."""
    meta = content.meta
    page = await session.scalar(select(LibraryPage).where(LibraryPage.slug == content.slug))
    created = page is None
    values = {
        "title": meta.title,
        "also_called": "\n".join(meta.also_called),
        "summary": meta.summary,
        "published_on": meta.published,
        "reviewed_on": meta.reviewed,
        "next_review_on": meta.next_review,
        "source_file": content.source[-300:],
        "imported_at": utcnow(),
    }
    if page is None:
        page = LibraryPage(slug=content.slug, is_published=True, **values)
        session.add(page)
        await session.flush()
    else:
        for key, value in values.items():
            setattr(page, key, value)
        for model in (
            LibrarySection,
            LibraryPerson,
            LibraryReference,
            Specialist,
            Advance,
            PageGroup,
        ):
            await session.execute(delete(model).where(model.page_id == page.id))  # type: ignore[attr-defined]
        await session.execute(
            delete(PageTrial).where(PageTrial.page_id == page.id, PageTrial.source == "page")
        )
    pid = page.id
    session.add_all(
        LibrarySection(
            page_id=pid,
            position=n,
            heading=s.heading,
            anchor=s.anchor,
            body_md=s.body_md,
            body_html=render_markdown(s.body_md),
        )
        for n, s in enumerate(content.sections)
    )
    for kind, people in (("author", meta.authors), ("reviewer", meta.reviewers)):
        session.add_all(
            LibraryPerson(
                page_id=pid,
                kind=kind,
                position=n,
                name=p.name,
                credentials=p.credentials,
                affiliation=p.affiliation,
            )
            for n, p in enumerate(people)
        )
    session.add_all(
        LibraryReference(page_id=pid, position=n, text=text)
        for n, text in enumerate(meta.references)
    )
    session.add_all(
        Specialist(
            page_id=pid,
            position=n,
            name=s.name,
            specialty=s.specialty,
            tier=s.tier.value,
            city=s.city,
            region=s.region,
            country=s.country,
            url=s.url,
            is_sample=s.sample,
        )
        for n, s in enumerate(meta.specialists)
    )
    session.add_all(
        Advance(page_id=pid, position=n, title=a.title, source=a.source, year=a.year, url=a.url)
        for n, a in enumerate(meta.advances)
    )
    session.add_all(
        PageGroup(page_id=pid, group_id=group_ids[slug], position=n)
        for n, slug in enumerate(dict.fromkeys(meta.groups))
    )
    await session.flush()
    for n, trial in enumerate(meta.trials):
        trial_id = await upsert_trial(session, trial)
        link = await session.get(PageTrial, (pid, trial_id))
        if link is None:
            session.add(PageTrial(page_id=pid, trial_id=trial_id, position=n, source="page"))
        else:  # attached by a ClinicalTrials.gov import before: now the page lists it
            link.source, link.position = "page", n
    await session.flush()
    return created


async def import_pages(
    session: AsyncSession,
    *,
    pages: list[PageContent],
    progress: Callable[[str], None] | None = None,
) -> ImportSummary:
    """Import checked pages together (the caller's transaction makes it all or nothing).
    Raises ContentErrors naming file and field for a duplicate slug or an unknown group."""
    from app.library.content import duplicate_slugs

    duplicates = duplicate_slugs(pages)
    if duplicates:
        raise ContentErrors(duplicates)
    group_ids = await check_groups(session, pages)
    summary = ImportSummary()
    for content in pages:
        created = await import_page(session, content=content, group_ids=group_ids)
        (summary.created if created else summary.updated).append(content.slug)
        if progress is not None:
            progress(content.slug)
    await _reindex(session, [content.slug for content in pages])
    return summary


def _name_key(text: str) -> str:
    return " ".join(text.casefold().split())


async def import_trials(session: AsyncSession, *, trials: list[TrialIn]) -> dict[str, list[str]]:
    """Write each study and attach it to every page whose title or "also called" names one
    of its conditions (ignoring case and spacing). Returns registry id -> page slugs."""
    pages = list(await session.scalars(select(LibraryPage)))
    names: dict[str, list[LibraryPage]] = {}
    for page in pages:
        for name in (page.title, *page.also_called_list):
            names.setdefault(_name_key(name), []).append(page)
    attached: dict[str, list[str]] = {}
    for trial in trials:
        trial_id = await upsert_trial(session, trial)
        targets = {p.id: p for cond in trial.conditions for p in names.get(_name_key(cond), [])}
        attached[trial.id] = sorted(p.slug for p in targets.values())
        for page in targets.values():
            if await session.get(PageTrial, (page.id, trial_id)) is None:
                position = await session.scalar(
                    select(func.coalesce(func.max(PageTrial.position), -1) + 1).where(
                        PageTrial.page_id == page.id
                    )
                )
                session.add(
                    PageTrial(page_id=page.id, trial_id=trial_id, position=position, source="ctgov")
                )
        await session.flush()
    return attached


# -- administration --------------------------------------------------------------------------


@dataclass(slots=True)
class AdminRow:
    slug: str
    title: str
    is_published: bool
    published_on: date
    reviewed_on: date | None
    next_review_on: date | None
    overdue: bool


async def admin_pages(session: AsyncSession, *, today: date | None = None) -> list[AdminRow]:
    """Every page, published or not: overdue reviews first (most overdue first), then by
    next review date, then A to Z."""
    today = today or date.today()
    rows = [
        AdminRow(
            p.slug,
            p.title,
            p.is_published,
            p.published_on,
            p.reviewed_on,
            p.next_review_on,
            is_review_overdue(p, today),
        )
        for p in await session.scalars(select(LibraryPage))
    ]
    rows.sort(
        key=lambda r: (
            not r.overdue,
            r.next_review_on or date.max,
            r.title.casefold(),
        )
    )
    return rows


async def set_published(session: AsyncSession, *, slug: str, published: bool) -> LibraryPage:
    page = await session.scalar(select(LibraryPage).where(LibraryPage.slug == slug[:80]))
    if page is None:
        raise NotFound("There is no library page at this address.")
    await session.execute(
        update(LibraryPage).where(LibraryPage.id == page.id).values(is_published=published)
    )
    page.is_published = published
    await _reindex(session, [page.slug])
    return page


async def _reindex(session: AsyncSession, slugs: list[str]) -> None:
    """The search index follows imports and publishing in the same transaction."""
    await session.flush()
    await index_for_search(session, slugs=slugs)


# -- for search --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchableDocument:
    """A library page as the search index needs it, and nothing of the library's insides.

    `text` is the sections' Markdown, each under its heading, in page order; `url` is the
    page's address. Only published pages are given (the access layer's rule)."""

    slug: str
    title: str
    also_called: tuple[str, ...]
    summary: str
    text: str
    url: str


async def searchable_pages(
    session: AsyncSession, *, slugs: list[str] | None = None
) -> list[SearchableDocument]:
    """The searchable text of every published page (or of those in `slugs`): title, also
    called, summary and sections. Call it after an import to (re)index the pages."""
    query = select(LibraryPage).where(visible_library_pages()).order_by(LibraryPage.slug)
    if slugs is not None:
        query = query.where(LibraryPage.slug.in_(slugs))
    pages = list(await session.scalars(query))
    sections: dict[int, list[str]] = {}
    if pages:
        for s in await session.scalars(
            select(LibrarySection)
            .where(LibrarySection.page_id.in_([p.id for p in pages]))
            .order_by(LibrarySection.page_id, LibrarySection.position)
        ):
            sections.setdefault(s.page_id, []).append(f"{s.heading}\n\n{s.body_md}")
    return [
        SearchableDocument(
            slug=p.slug,
            title=p.title,
            also_called=tuple(p.also_called_list),
            summary=p.summary,
            text="\n\n".join(sections.get(p.id, [])),
            url=page_url(p.slug),
        )
        for p in pages
    ]


async def index_for_search(session: AsyncSession, *, slugs: list[str] | None = None) -> int:
    """Write the search index's documents of these pages (every page when None): one for
    each published page, none for the others. Returns how many were written."""
    return await write_library_documents(
        session, published=await searchable_pages(session, slugs=slugs), slugs=slugs
    )


def ask_url(view: PageView) -> str:
    """'Ask the community': a new discussion in the first linked group, its title
    naming the condition."""
    from urllib.parse import quote

    return f"/groups/{view.groups[0].slug}/new?title={quote(view.page.title + ': ')}"
