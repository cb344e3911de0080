from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute

from app.access.fetch import access_group
from app.access.permissions import Action, can, check_permission
from app.accounts.deps import Auth, AuthDep, CurrentUser, plain_page, requires
from app.config import Settings
from app.core.errors import Invalid
from app.core.forms import read_form
from app.core.ratelimit import limit
from app.core.security import new_token
from app.core.templating import render
from app.core.urls import discussion_url
from app.db import SessionDep, keep_nothing
from app.discussions.posting import check_group_open, next_post_held, start_discussion
from app.discussions.schemas import DiscussionCreateIn
from app.groups import service
from app.safety import composer as safety_composer
from app.safety.review import PersonalInformationFound
from app.search import home as home_tabs
from app.search.pages import new_discussion_preview

router = APIRouter(include_in_schema=False)
PLAIN_ROUTES: list[BaseRoute] = []


@router.get("/")
async def home(request: Request, session: SessionDep, auth: AuthDep) -> Response:
    check_permission(auth.viewer, Action.read)
    groups = await service.list_groups(session, viewer=auth.viewer)
    tab = request.query_params.get("tab", "latest")
    tab = tab if tab in home_tabs.TABS else "latest"
    recent = await home_tabs.home_tab(session, tab=tab, viewer=auth.viewer)
    return render(request, "groups/home.html", {"groups": groups, "recent": recent, "tab": tab})


@router.get("/groups")
async def groups_index(request: Request, session: SessionDep, auth: AuthDep) -> Response:
    check_permission(auth.viewer, Action.read)
    return render(
        request,
        "groups/index.html",
        {"groups": await service.list_groups(session, viewer=auth.viewer)},
    )


@plain_page(PLAIN_ROUTES, "/groups/{slug}")
async def group_page(request: Request, session: AsyncSession, auth: Auth) -> Response:
    """Read on every visit to a group: a plain route (`plain_page`)."""
    cursor = request.query_params.get("cursor") or None
    if cursor is not None and len(cursor) > 200:
        raise Invalid("The page link is not valid.", field="cursor")
    check_permission(auth.viewer, Action.read)
    settings: Settings = request.app.state.settings
    page = await service.page_of_group(
        session,
        request.path_params["slug"],
        limit=settings.group_page_size,
        cursor=cursor,
        viewer=auth.viewer,
    )
    group, listing, pinned = page.group, page.listing, page.pinned
    response = render(
        request,
        "groups/group.html",
        {
            "group": group,
            "listing": listing,
            "pinned": pinned,
            "is_first_page": not cursor,
            "follow_level": group.follow_level,
            "can_manage_groups": can(auth.viewer, Action.manage_groups),
        },
    )
    if group.members_only:
        response.headers["x-robots-tag"] = "noindex"  # and a robots meta tag in the page
    return response


@router.post("/groups/{slug}/visibility", dependencies=[requires(Action.manage_groups)])
async def set_visibility(
    request: Request, slug: str, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.manage_groups)
    group = await access_group(session, slug)
    form = await request.form()
    visibility, reason = form.get("visibility", ""), form.get("reason", "")
    await service.set_visibility(
        session,
        admin=user,
        group=group,
        visibility=visibility if isinstance(visibility, str) else "",
        reason=reason[:1000] if isinstance(reason, str) else "",
    )
    return RedirectResponse(f"/groups/{group.slug}", status_code=303)


@router.get("/groups/{slug}/new")
async def new_discussion_form(
    request: Request, slug: str, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.start_discussion)
    group = await access_group(session, slug)
    check_group_open(group)
    # ?title= starts the title (the library's "Ask the community" names the condition)
    title = request.query_params.get("title", "")[:200]
    return render(
        request,
        "discussions/new.html",
        {
            "group": group,
            "errors": {},
            "values": {"client_key": new_token(12), "title": title},
            "viewer_held": await next_post_held(session, author=user),
        },
    )


@router.post("/groups/{slug}/new")
async def new_discussion(
    request: Request, slug: str, session: SessionDep, user: CurrentUser
) -> Response:
    group = await access_group(session, slug)
    form = await read_form(
        request,
        DiscussionCreateIn,
        ("title", "body", "client_key", "confirm_personal_information"),
        optional=("client_key", "confirm_personal_information"),
    )
    if (await request.form()).get("preview") is not None:
        # the preview: the text as it will look, and similar discussions (no JavaScript)
        return await new_discussion_preview(request, session, group, form.values, form.errors)

    async def again(context: dict[str, object], status: int) -> Response:
        held = await next_post_held(session, author=user)
        context = {"group": group, "viewer_held": held, **context}
        return render(request, "discussions/new.html", context, status)

    if not form.ok or form.model is None:
        return await again({"errors": form.errors, "values": form.values}, 422)
    removed = await safety_composer.removal(request, form.values, region=user.country)
    if removed is not None:  # "Remove it", without JavaScript
        return await again({"errors": {}, **removed}, 200)
    data = form.model
    await limit(request, "post_user", str(user.id))
    try:
        written = await start_discussion(
            session,
            author=user,
            group=group,
            title=data.title,
            body=data.body,
            client_key=data.client_key,
            confirm_personal_information=data.confirm_personal_information,
        )
    except PersonalInformationFound as exc:
        keep_nothing(session)  # a refusal shown on the form: nothing of it is kept
        context = {"errors": {}, "values": form.values, **safety_composer.refused(form.values, exc)}
        return await again(context, 422)
    location = discussion_url(written.discussion.id, written.discussion.slug)
    supported = safety_composer.with_support(location, session)
    if supported != location:
        return RedirectResponse(supported, 303)
    if written.rendered is not None and written.rendered.unknown_mentions:
        # "did you mean @colleenyoung?" before going on to the discussion
        return RedirectResponse(f"/posts/{written.post.id}/mentions", status_code=303)
    return RedirectResponse(location, status_code=303)
