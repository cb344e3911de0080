"""HTML pages of the health library, saved items and the library's administration."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from app.access.permissions import Action, check_permission
from app.accounts.deps import ANON_COOKIE, AuthDep, CurrentUser, requires
from app.core.errors import Invalid
from app.core.forms import read_form
from app.core.templating import render, set_auth_cookies
from app.core.urls import safe_next
from app.core.validation import MAX_ID
from app.db import SessionDep
from app.library import saved, service
from app.library.matching import match_trials
from app.library.schemas import TIER_EXPLAINED, AgeUnit, SavedKind, SaveIn, Tier, read_match

router = APIRouter(include_in_schema=False)

Slug = Annotated[str, Path()]  # any length: an unknown slug is 404, not 422
SavedId = Annotated[int, Path(ge=1, le=MAX_ID)]
MATCH_FIELDS = ("age", "age_unit", "sex", "country", "region", "city", "recruiting_only")


@router.get("/library")
async def library_index(request: Request, session: SessionDep, auth: AuthDep) -> Response:
    check_permission(auth.viewer, Action.read)
    q = request.query_params.get("q", "")[:100]
    pages = await service.list_pages(session, viewer=auth.viewer, matching=q)
    letters = sorted({p.title[:1].upper() for p in pages})
    return render(
        request,
        "library/index.html",
        {"pages": pages, "q": q, "letters": letters, "tiers": TIER_EXPLAINED},
    )


@router.get("/library/{slug}")
async def library_page(
    request: Request, slug: Slug, session: SessionDep, auth: AuthDep
) -> Response:
    check_permission(auth.viewer, Action.read)
    view = await service.page_view(session, slug, viewer=auth.viewer)
    params = request.query_params
    tier = params.get("tier", "")
    tier = tier if tier in {t.value for t in Tier} else ""
    place = params.get("place", "")[:100]
    specialists = service.filter_specialists(view.specialists, tier=tier, place=place)
    match_error = None
    match = None
    status = 200
    asked = any(params.get(name) for name in MATCH_FIELDS if name != "recruiting_only")
    try:
        criteria = read_match(params)
        if asked or "recruiting_only" in params:
            match = match_trials(view.trials, criteria)
    except Invalid as exc:
        match_error, status = exc, 422
    saved_id = await saved.saved_id_for(session, user=auth.viewer, page_id=view.page.id)
    return render(
        request,
        "library/page.html",
        {
            "v": view,
            "specialists": specialists,
            "tier": tier,
            "place": place,
            "tiers": TIER_EXPLAINED,
            "match": match,
            "match_error": match_error,
            "form": {name: params.get(name, "") for name in MATCH_FIELDS},
            "recruiting_only": params.getlist("recruiting_only")[-1:] != ["false"],
            "age_units": [u.value for u in AgeUnit],
            "saved_id": saved_id,
            "ask_url": service.ask_url(view) if view.groups else None,
        },
        status,
    )


# -- saved items ---------------------------------------------------------------------------


@router.get("/saved")
async def saved_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    check_permission(user, Action.save_item)
    items = await saved.list_saved(session, user=user)
    return render(request, "library/saved.html", {"items": items})


@router.post("/saved")
async def save_from_form(request: Request, session: SessionDep, auth: AuthDep) -> Response:
    """The Save button. A visitor is sent to sign in (or join), then back through
    /saved/return, which saves the item for the browser that pressed the button."""
    form = await read_form(
        request, SaveIn, ("kind", "slug", "discussion_id"), optional=("slug", "discussion_id")
    )
    back = safe_next(str((await request.form()).get("next", "")), "/saved")
    if auth.viewer is None and (not form.ok or form.model is None):
        return RedirectResponse("/login?" + urlencode({"next": back}), status_code=303)
    if not form.ok or form.model is None:
        name = next(iter(form.errors), "kind")
        raise Invalid(f"{name}: {form.errors[name]}", field=name)
    data = form.model
    if auth.viewer is None:
        anon = request.cookies.get(ANON_COOKIE, "")
        target = data.slug or str(data.discussion_id)
        query = {
            "kind": data.kind.value,
            "target": target,
            "next": back,
            "sig": request.app.state.signer.sign(
                "save-return", f"{anon}|{data.kind.value}|{target}"
            ),
        }
        return_to = "/saved/return?" + urlencode(query)
        return RedirectResponse("/login?" + urlencode({"next": return_to}), status_code=303)
    check_permission(auth.viewer, Action.save_item)
    await saved.save_item(
        session,
        user=auth.viewer,
        kind=data.kind,
        slug=data.slug,
        discussion_id=data.discussion_id,
    )
    return RedirectResponse(_with_notice(back, "saved"), status_code=303)


@router.get("/saved/start")
async def save_as_visitor(request: Request, auth: AuthDep) -> Response:
    """A visitor's Save button: a GET form, so that the page it sits on carries no token
    and no cookie and is the same for every visitor (app/cache). It does what the POST
    does for a visitor: the item is bound to this browser (its anonymous cookie, made
    here when it has none) and the visitor is sent to sign in or join, coming back
    through /saved/return, which saves it. Only a press on one of this site's pages
    counts (Sec-Fetch-Site, else the Referer): a link from elsewhere saves nothing."""
    params = request.query_params
    back = safe_next(params.get("next", ""), "/")
    kind = params.get("kind", "")
    target = (params.get("slug") or params.get("discussion_id") or "")[:80]
    if (
        auth.viewer is not None  # signed in meanwhile: the page's own Save button saves
        or kind not in {k.value for k in SavedKind}
        or not target
        or not _pressed_here(request)
    ):
        return RedirectResponse(back, status_code=303)
    auth.csrf_token  # noqa: B018 (binds the browser: makes the anonymous cookie if none)
    anon = auth.binding or ""
    query = {
        "kind": kind,
        "target": target,
        "next": back,
        "sig": request.app.state.signer.sign("save-return", f"{anon}|{kind}|{target}"),
    }
    return_to = "/saved/return?" + urlencode(query)
    response = RedirectResponse("/login?" + urlencode({"next": return_to}), status_code=303)
    set_auth_cookies(request, response, auth)
    return response


def _pressed_here(request: Request) -> bool:
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    referer = urlsplit(request.headers.get("referer", ""))
    return bool(referer.netloc) and referer.netloc == request.headers.get("host")


def _with_notice(url: str, notice: str) -> str:
    path, _, fragment = url.partition("#")
    sep = "&" if "?" in path else "?"
    return f"{path}{sep}notice={notice}" + (f"#{fragment}" if fragment else "")


@router.get("/saved/return", dependencies=[requires(Action.save_item)])
async def save_after_sign_in(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Where a visitor who pressed Save lands after signing in or joining: the signature
    binds the item to the browser that pressed the button (its anonymous cookie), so a
    link from elsewhere cannot make a member save anything."""
    params = request.query_params
    kind, target = params.get("kind", "")[:20], params.get("target", "")[:80]
    back = safe_next(params.get("next", ""), "/saved")
    anon = request.cookies.get(ANON_COOKIE, "")
    valid = request.app.state.signer.verify(
        "save-return", f"{anon}|{kind}|{target}", params.get("sig", "")[:80]
    )
    if not valid or kind not in {k.value for k in SavedKind}:
        # not this browser's button press: nothing is saved; the member can press Save again
        return RedirectResponse(back, status_code=303)
    if kind == SavedKind.library_page:
        await saved.save_item(session, user=user, kind=SavedKind.library_page, slug=target)
    else:
        if not target.isdigit() or not 1 <= int(target) <= MAX_ID:
            raise Invalid("The saved item's link is not valid.", field="target")
        await saved.save_item(
            session, user=user, kind=SavedKind.discussion, discussion_id=int(target)
        )
    return RedirectResponse(_with_notice(back, "saved"), status_code=303)


@router.post("/saved/{saved_id}/delete")
async def remove_saved(saved_id: SavedId, session: SessionDep, user: CurrentUser) -> Response:
    check_permission(user, Action.save_item)
    await saved.remove_saved(session, user=user, saved_id=saved_id)
    return RedirectResponse("/saved?notice=unsaved", status_code=303)


# -- administration ---------------------------------------------------------------------------


@router.get("/admin/library")
async def admin_library(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    check_permission(user, Action.manage_library)
    return render(request, "library/admin.html", {"rows": await service.admin_pages(session)})


@router.post("/admin/library/{slug}/{action}")
async def admin_publish(
    slug: Slug, action: str, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.manage_library)
    if action not in ("publish", "unpublish"):
        raise Invalid("The action must be publish or unpublish.", field="action")
    await service.set_published(session, slug=slug, published=action == "publish")
    return RedirectResponse(f"/admin/library?notice=library-{action}ed", status_code=303)
