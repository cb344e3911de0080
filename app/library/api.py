"""JSON for the health library and saved items (resource names are the design's contract:
/library, /library/{slug}, /library/{slug}/trials, /saved, /saved/{id})."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from app.access.permissions import Action, check_permission
from app.accounts.deps import AuthDep, CurrentUser, requires
from app.core.validation import MAX_ID
from app.db import SessionDep
from app.library import saved, service
from app.library.matching import MatchResult, TrialView
from app.library.schemas import SaveIn, read_match

router = APIRouter(prefix="/api/v1", tags=["library"])

Slug = Annotated[str, Path()]  # any length: an unknown slug is 404, not 422
SavedId = Annotated[int, Path(ge=1, le=MAX_ID)]


class GroupOut(BaseModel):
    slug: str
    name: str
    url: str


class PageSummaryOut(BaseModel):
    slug: str
    title: str
    also_called: list[str]
    summary: str
    url: str
    groups: list[GroupOut]


class PersonOut(BaseModel):
    name: str
    credentials: str
    affiliation: str


class SectionOut(BaseModel):
    heading: str
    anchor: str
    body_md: str
    body_html: str


class SpecialistOut(BaseModel):
    name: str
    specialty: str
    tier: str
    city: str
    region: str
    country: str
    url: str
    sample: bool


class SiteOut(BaseModel):
    facility: str
    city: str
    region: str
    country: str
    status: str


class TrialOut(BaseModel):
    id: str
    title: str
    summary: str
    status: str
    conditions: list[str]
    min_age: str | None
    max_age: str | None
    sex: str
    url: str
    sample: bool
    locations: list[SiteOut]


class AdvanceOut(BaseModel):
    title: str
    source: str
    year: int | None
    url: str


class DiscussionOut(BaseModel):
    id: int
    title: str
    url: str
    group: str
    reply_count: int


class PageOut(PageSummaryOut):
    published: date
    reviewed: date | None
    next_review: date | None
    review_overdue: bool | None = None  # administrators only
    sections: list[SectionOut]
    authors: list[PersonOut]
    reviewers: list[PersonOut]
    references: list[str]
    specialists: list[SpecialistOut]
    trials: list[TrialOut]
    advances: list[AdvanceOut]
    recent_discussions: list[DiscussionOut]
    ask_url: str | None


class FunnelStepOut(BaseModel):
    label: str
    count: int


class MatchOut(BaseModel):
    criteria: dict[str, Any]
    funnel: list[FunnelStepOut]
    widen: str | None
    trials: list[TrialOut]
    nearest: list[TrialOut]  # nothing matched: the trials left before the emptying step


class SavedOut(BaseModel):
    id: int
    kind: str
    title: str
    url: str
    where: str
    saved_at: datetime


def trial_out(t: TrialView) -> TrialOut:
    return TrialOut(
        id=t.registry_id,
        title=t.title,
        summary=t.summary,
        status=t.status,
        conditions=t.conditions,
        min_age=t.min_age_text or None,
        max_age=t.max_age_text or None,
        sex=t.sex,
        url=t.url,
        sample=t.is_sample,
        locations=[SiteOut(**{k: getattr(s, k) for k in SiteOut.model_fields}) for s in t.sites],
    )


def group_out(g: service.GroupLink) -> GroupOut:
    return GroupOut(slug=g.slug, name=g.name, url=f"/groups/{g.slug}")


def match_out(result: MatchResult) -> MatchOut:
    return MatchOut(
        criteria=result.criteria.model_dump(mode="json"),
        funnel=[FunnelStepOut(label=s.label, count=s.count) for s in result.steps],
        widen=result.widen,
        trials=[trial_out(t) for t in result.trials],
        nearest=[trial_out(t) for t in result.nearest],
    )


@router.get("/library", response_model=list[PageSummaryOut])
async def list_library(session: SessionDep, auth: AuthDep) -> list[PageSummaryOut]:
    check_permission(auth.viewer, Action.read)
    return [
        PageSummaryOut(
            slug=p.slug,
            title=p.title,
            also_called=p.also_called,
            summary=p.summary,
            url=p.url,
            groups=[group_out(g) for g in p.groups],
        )
        for p in await service.list_pages(session, viewer=auth.viewer)
    ]


@router.get("/library/{slug}", response_model=PageOut, response_model_exclude_none=False)
async def get_library_page(slug: Slug, session: SessionDep, auth: AuthDep) -> PageOut:
    check_permission(auth.viewer, Action.read)
    view = await service.page_view(session, slug, viewer=auth.viewer)
    page = view.page

    def person(p: Any) -> PersonOut:
        return PersonOut(name=p.name, credentials=p.credentials, affiliation=p.affiliation)

    return PageOut(
        slug=page.slug,
        title=page.title,
        also_called=page.also_called_list,
        summary=page.summary,
        url=view.url,
        groups=[group_out(g) for g in view.groups],
        published=page.published_on,
        reviewed=page.reviewed_on,
        next_review=page.next_review_on,
        review_overdue=view.review_overdue if view.review_overdue else None,
        sections=[
            SectionOut(heading=s.heading, anchor=s.anchor, body_md=s.body_md, body_html=s.body_html)
            for s in view.sections
        ],
        authors=[person(p) for p in view.authors],
        reviewers=[person(p) for p in view.reviewers],
        references=view.references,
        specialists=[
            SpecialistOut(
                name=s.name,
                specialty=s.specialty,
                tier=s.tier,
                city=s.city,
                region=s.region,
                country=s.country,
                url=s.url,
                sample=s.is_sample,
            )
            for s in view.specialists
        ],
        trials=[trial_out(t) for t in view.trials],
        advances=[
            AdvanceOut(title=a.title, source=a.source, year=a.year, url=a.url)
            for a in view.advances
        ],
        recent_discussions=[
            DiscussionOut(
                id=d.id, title=d.title, url=d.url, group=d.group_name, reply_count=d.reply_count
            )
            for d in view.discussions
        ],
        ask_url=service.ask_url(view) if view.groups else None,
    )


Param = Annotated[str | None, Query()]


@router.get("/library/{slug}/trials", response_model=MatchOut)
async def match_library_trials(
    request: Request,
    slug: Slug,
    session: SessionDep,
    auth: AuthDep,
    age: Annotated[str | None, Query(description="a number, with age_unit")] = None,
    age_unit: Annotated[str | None, Query(description="days, weeks, months or years")] = None,
    sex: Annotated[str | None, Query(description="female or male (absent: any)")] = None,
    country: Annotated[str | None, Query(description="name or code, e.g. US")] = None,
    region: Param = None,
    city: Param = None,
    recruiting_only: Annotated[str | None, Query(description="true (default) or false")] = None,
) -> MatchOut:
    """The condition's trials that might take this patient, with the funnel (how many
    match the condition, then also the location, then also age and sex) and, when none
    do, which criterion to widen. Every parameter is optional; bad values are 422 naming
    the field."""
    check_permission(auth.viewer, Action.read)
    criteria = read_match(request.query_params)
    _page, result = await service.match_page_trials(
        session, slug, viewer=auth.viewer, criteria=criteria
    )
    return match_out(result)


@router.get("/saved", response_model=list[SavedOut], dependencies=[requires(Action.save_item)])
async def list_saved_items(session: SessionDep, user: CurrentUser) -> list[SavedOut]:
    return [
        SavedOut(id=s.id, kind=s.kind, title=s.title, url=s.url, where=s.where, saved_at=s.saved_at)
        for s in await saved.list_saved(session, user=user)
    ]


@router.post(
    "/saved",
    response_model=SavedOut,
    status_code=201,
    dependencies=[requires(Action.save_item)],
)
async def save_for_later(data: SaveIn, session: SessionDep, user: CurrentUser) -> SavedOut:
    """Save a library page (`{"kind": "library_page", "slug": ...}`) or a discussion
    (`{"kind": "discussion", "discussion_id": ...}`). Saving again answers the same item."""
    saved_id = await saved.save_item(
        session, user=user, kind=data.kind, slug=data.slug, discussion_id=data.discussion_id
    )
    item = next((s for s in await saved.list_saved(session, user=user) if s.id == saved_id), None)
    if item is None:  # saved, but not listed (e.g. the member's own discussion under review)
        from app.core.errors import NotFound

        raise NotFound("That item cannot be listed among your saved items now.")
    return SavedOut(
        id=item.id,
        kind=item.kind,
        title=item.title,
        url=item.url,
        where=item.where,
        saved_at=item.saved_at,
    )


@router.delete("/saved/{saved_id}", status_code=204, dependencies=[requires(Action.save_item)])
async def remove_saved_item(saved_id: SavedId, session: SessionDep, user: CurrentUser) -> Response:
    await saved.remove_saved(session, user=user, saved_id=saved_id)
    return Response(status_code=204)
