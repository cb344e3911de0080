from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute

from app.access.fetch import access_discussion, access_post
from app.access.permissions import Action, can, check_permission
from app.access.visibility import can_see_post
from app.accounts.deps import Auth, AuthDep, CurrentUser, SettingsDep, plain_page
from app.accounts.models import Actor, User
from app.config import Settings
from app.core.errors import Invalid, NotFound, RateLimited
from app.core.forms import read_form
from app.core.ratelimit import limit
from app.core.security import new_token
from app.core.templating import render
from app.core.urls import discussion_url
from app.core.validation import MAX_ID, whole_number
from app.db import SessionDep, keep_nothing
from app.discussions import posting, reactions, reading, views
from app.discussions.models import Discussion, Post
from app.discussions.schemas import PostPatchIn, ReplyIn
from app.groups.service import list_groups
from app.moderation import service as moderation
from app.moderation.canned import pages as canned_pages
from app.safety import composer as safety_composer
from app.safety.review import PersonalInformationFound, crisis_support

router = APIRouter(include_in_schema=False)
PLAIN_ROUTES: list[BaseRoute] = []

MAX_PAGE = 1_000_000
_NO_QUERY: dict[str, str] = {}
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


async def post_location(
    session: SessionDep, post: Post, discussion: Discussion, page_size: int
) -> str:
    page = await reading.page_of_post(session, post=post, page_size=page_size)
    url = discussion_url(discussion.id, discussion.slug)
    if page > 1:
        url += f"?page={page}"
    return f"{url}#post-{post.id}"


@router.get("/discussions/{discussion_id}")
async def discussion_short(discussion_id: IdPath, session: SessionDep, auth: AuthDep) -> Response:
    check_permission(auth.viewer, Action.read)
    discussion, _group = await access_discussion(session, discussion_id, viewer=auth.viewer)
    return RedirectResponse(discussion_url(discussion.id, discussion.slug), status_code=301)


@plain_page(PLAIN_ROUTES, "/discussions/{discussion_id}/{slug}")
async def discussion_page(request: Request, session: AsyncSession, auth: Auth) -> Response:
    """The page read most: a plain route (`plain_page`)."""
    try:
        discussion_id = whole_number(request.path_params["discussion_id"], "discussion_id")
    except Invalid:
        raise NotFound("There is no discussion at this address.") from None
    # most requests have no query string: no QueryParams made for nothing (~15 µs)
    query = request.query_params if request.scope["query_string"] else _NO_QUERY
    page = whole_number(query.get("page"), "page", default=1, high=MAX_PAGE)
    viewer = auth.viewer
    check_permission(viewer, Action.read)
    settings: Settings = request.app.state.settings
    page_size = settings.discussion_page_size
    discussion, posts = await reading.read_discussion(
        session, discussion_id, page=page, page_size=page_size, viewer=viewer
    )
    if request.path_params["slug"] != discussion.slug:
        return RedirectResponse(
            discussion.url + (f"?page={page}" if page > 1 else ""), status_code=301
        )
    loaded = reading.arrange_page(discussion, posts, page=page, page_size=page_size, viewer=viewer)
    actions = views.PostActions.of(
        viewer,
        # visitors' pages carry no token (they have no form to send): cacheable, app/cache
        csrf_token=auth.csrf_token if viewer else "",
        return_to=discussion.url + (f"?page={page}" if page > 1 else ""),
        locked=discussion.is_locked,
        archived=discussion.group_archived_at is not None,
    )
    response = render(
        request,
        "discussions/discussion.html",
        {
            "d": loaded,
            "actions": actions,
            "client_key": new_token(12),
            "moderation_groups": await list_groups(session, viewer=viewer)
            if actions.can_moderate
            else [],
            "can_use_canned": can(viewer, Action.use_canned_responses),
            "errors": {},
            "values": {},
            "support": await _crisis_support(request, session, viewer)
            if query.get("support") == "crisis"
            else None,
        },
    )
    if discussion.group_visibility == "members":
        response.headers["x-robots-tag"] = "noindex"  # and a robots meta tag in the page
    return response


async def _crisis_support(
    request: Request, session: AsyncSession, viewer: Actor | None
) -> dict[str, object] | None:
    """The crisis resources for the viewer's country, for a page that follows a post of
    theirs that reads as a crisis (the caller checks for `?support=crisis`, app/safety)."""
    if viewer is None:
        return None
    member = await session.get(User, viewer.id)
    return crisis_support(member.country if member else None, request.app.state.settings)


@router.post("/discussions/{discussion_id}/replies")
async def post_reply(
    request: Request,
    discussion_id: IdPath,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> Response:
    discussion, group = await access_discussion(session, discussion_id, viewer=user)
    form = await read_form(
        request,
        ReplyIn,
        ("body", "reply_to", "client_key", "canned_response_id", "confirm_personal_information"),
        optional=("reply_to", "client_key", "canned_response_id", "confirm_personal_information"),
    )

    async def again(context: dict[str, object], status: int) -> Response:
        parent = await _quotable_parent(session, form.values.get("reply_to", ""), discussion, user)
        return render(
            request,
            "discussions/reply.html",
            {
                "discussion": discussion,
                "group": group,
                "parent": parent,
                "parent_author": await _author_name(session, parent),
                **context,
                "viewer_held": await posting.next_post_held(session, author=user),
                **await canned_pages.composer_context(
                    session, viewer=user, discussion=discussion, parent=parent
                ),
            },
            status,
        )

    if not form.ok or form.model is None:
        return await again({"errors": form.errors, "values": form.values}, 422)
    removed = await safety_composer.removal(request, form.values, region=user.country)
    if removed is not None:  # "Remove it", without JavaScript
        return await again({"errors": {}, **removed}, 200)
    paused = await safety_composer.advice_pause(request, form.values, region=user.country)
    if paused is not None:  # the advice hint, once, before posting (a hint, not a refusal)
        return await again({"errors": {}, **paused}, 200)
    data = form.model
    await limit(request, "post_user", str(user.id))
    try:
        written = await posting.reply(
            session,
            author=user,
            discussion=discussion,
            body=data.body,
            reply_to_id=data.reply_to,
            client_key=data.client_key,
            canned_response_id=data.canned_response_id,
            confirm_personal_information=data.confirm_personal_information,
            final=True,
        )
    except PersonalInformationFound as exc:
        keep_nothing(session)  # a refusal shown on the form: nothing of it is kept
        context = {"errors": {}, "values": form.values, **safety_composer.refused(form.values, exc)}
        return await again(context, 422)
    location = await post_location(
        session, written.post, written.discussion, settings.discussion_page_size
    )
    supported = safety_composer.with_support(location, session)
    if supported != location:
        return RedirectResponse(supported, 303)
    if written.rendered is not None and written.rendered.unknown_mentions:
        # "did you mean @colleenyoung?" before going on to the post
        return RedirectResponse(f"/posts/{written.post.id}/mentions", status_code=303)
    return RedirectResponse(location, status_code=303)


async def _quotable_parent(
    session: SessionDep, reply_to: str, discussion: Discussion, viewer: User
) -> Post | None:
    """The post a failed reply answered, to quote it again: only one the viewer may read,
    in this discussion."""
    if not reply_to.isdigit() or not 0 < int(reply_to) <= MAX_ID:
        return None
    post = await session.get(Post, int(reply_to))
    if post is None or post.discussion_id != discussion.id or post.deleted_at is not None:
        return None
    return post if can_see_post(viewer, post) else None


async def _author_name(session: SessionDep, post: Post | None) -> str | None:
    if post is None:
        return None
    author = await session.get(User, post.author_id)
    return author.username if author else None


async def _post_in_live_discussion(
    session: SessionDep, post_id: int, viewer: Actor | None
) -> tuple[Post, Discussion]:
    post = await access_post(session, post_id, viewer=viewer)
    discussion, _group = await access_discussion(session, post.discussion_id, viewer=viewer)
    return post, discussion


@router.get("/posts/{post_id}")
async def post_permalink(
    post_id: IdPath, session: SessionDep, auth: AuthDep, settings: SettingsDep
) -> Response:
    check_permission(auth.viewer, Action.read)
    post, discussion = await _post_in_live_discussion(session, post_id, auth.viewer)
    location = await post_location(session, post, discussion, settings.discussion_page_size)
    return RedirectResponse(location, status_code=302)


@router.get("/posts/{post_id}/reply")
async def reply_form(
    request: Request,
    post_id: IdPath,
    session: SessionDep,
    user: CurrentUser,
    canned: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The reply page; with ?canned=ID (mentors and moderators) the textarea starts with
    that canned response filled in, still editable: the picker that works without JS."""
    check_permission(user, Action.reply)
    post, discussion = await _post_in_live_discussion(session, post_id, user)
    _d, group = await access_discussion(session, discussion.id, viewer=user)
    composer = await canned_pages.composer_context(
        session, viewer=user, discussion=discussion, parent=post, canned_id=canned
    )
    return render(
        request,
        "discussions/reply.html",
        {
            "discussion": discussion,
            "group": group,
            "parent": post,
            "parent_author": await _author_name(session, post),
            "viewer_held": await posting.next_post_held(session, author=user),
            "errors": {},
            "values": {
                "client_key": new_token(12),
                "reply_to": str(post.id),
                **composer.pop("canned_prefill"),
            },
            **composer,
        },
    )


@router.get("/posts/{post_id}/edit")
async def edit_form(
    request: Request, post_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    post, discussion = await _post_in_live_discussion(session, post_id, user)
    posting.check_edit_post(user, post)
    return render(
        request,
        "discussions/edit.html",
        {
            "post": post,
            "discussion": discussion,
            "errors": {},
            "values": {"body": post.body_md, "title": discussion.title if post.is_opening else ""},
        },
    )


@router.post("/posts/{post_id}/edit")
async def edit_post(
    request: Request, post_id: IdPath, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> Response:
    post, discussion = await _post_in_live_discussion(session, post_id, user)
    posting.check_edit_post(user, post)
    fields = ("body", "title", "reason") if post.is_opening else ("body", "reason")
    form = await read_form(
        request,
        PostPatchIn,
        (*fields, "confirm_personal_information"),
        optional=("reason", "confirm_personal_information"),
    )

    def again(context: dict[str, object], status: int) -> Response:
        context = {"post": post, "discussion": discussion, **context}
        return render(request, "discussions/edit.html", context, status)

    if not form.ok or form.model is None:
        return again({"errors": form.errors, "values": form.values}, 422)
    if user.id == post.author_id:
        removed = await safety_composer.removal(request, form.values, region=user.country)
        if removed is not None:  # "Remove it", without JavaScript
            return again({"errors": {}, **removed}, 200)
    data = form.model
    try:
        await limit(request, "edit_user", str(user.id))
        await moderation.edit_post_as(
            session,
            editor=user,
            post=post,
            body=data.body,
            title=data.title,
            reason=data.reason,
            confirm_personal_information=data.confirm_personal_information,
        )
    except PersonalInformationFound as exc:
        keep_nothing(session)  # a refusal shown on the form: nothing of it is kept
        context = {"errors": {}, "values": form.values, **safety_composer.refused(form.values, exc)}
        return again(context, 422)
    except (Invalid, RateLimited) as exc:  # e.g. a moderator must say why; editing too fast
        keep_nothing(session)  # a refusal shown on the form: nothing of it is kept
        response = again(
            {"errors": {exc.field or "form": exc.detail}, "values": form.values}, exc.status_code
        )
        response.headers.update(exc.headers or {})
        return response
    await session.refresh(discussion)
    location = await post_location(session, post, discussion, settings.discussion_page_size)
    return RedirectResponse(safety_composer.with_support(location, session), 303)


@router.get("/posts/{post_id}/delete")
async def delete_confirm(
    request: Request, post_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    """Confirm before deleting: the form that deletes is on this page (no script needed)."""
    post, discussion = await _post_in_live_discussion(session, post_id, user)
    posting.check_delete_post(user, post)
    return render(
        request,
        "discussions/delete.html",
        {"post": post, "discussion": discussion, "own": post.author_id == user.id},
    )


@router.post("/posts/{post_id}/delete")
async def delete_post(
    request: Request,
    post_id: IdPath,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> Response:
    post, discussion = await _post_in_live_discussion(session, post_id, user)
    reason = (await request.form()).get("reason", "")
    await moderation.delete_post_as(
        session, actor=user, post=post, reason=reason[:1000] if isinstance(reason, str) else ""
    )
    if post.is_opening:
        return RedirectResponse("/?notice=discussion-deleted", status_code=303)
    return RedirectResponse(
        await post_location(session, post, discussion, settings.discussion_page_size), 303
    )


@router.post("/posts/{post_id}/reactions")
async def react(
    request: Request,
    post_id: IdPath,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> Response:
    post, discussion = await _post_in_live_discussion(session, post_id, user)
    kind = reactions.parse_reaction_kind(str((await request.form()).get("kind", "")))
    await reactions.set_reaction(session, user=user, post=post, kind=kind, active=None)
    return RedirectResponse(
        await post_location(session, post, discussion, settings.discussion_page_size), 303
    )


@router.get("/posts/{post_id}/history")
async def history(
    request: Request, post_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    post, discussion = await _post_in_live_discussion(session, post_id, user)
    revisions = await posting.post_history(session, viewer=user, post=post)
    return render(
        request,
        "discussions/history.html",
        {"post": post, "discussion": discussion, "revisions": revisions},
    )


@router.get("/posts/{post_id}/reactions")
async def reactions_page(
    request: Request, post_id: IdPath, session: SessionDep, auth: AuthDep
) -> Response:
    check_permission(auth.viewer, Action.read)
    post, discussion = await _post_in_live_discussion(session, post_id, auth.viewer)
    return render(
        request,
        "discussions/reactions.html",
        {
            "post": post,
            "discussion": discussion,
            "reactors": await reactions.reactors(session, post=post),
        },
    )
