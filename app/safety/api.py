from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import StreamingResponse

from app.access.permissions import Action
from app.accounts import signin
from app.accounts.deps import CurrentUser, HasherDep, requires
from app.accounts.models import User
from app.core.errors import Invalid
from app.core.ratelimit import limit
from app.core.validation import MAX_ID
from app.db import SessionDep, utcnow
from app.safety import deletion, queue
from app.safety.advice import HINT, instruction_phrases
from app.safety.export import export_zip
from app.safety.personal_info import check_post
from app.safety.queue import SafetyItem
from app.safety.schemas import (
    AdviceOut,
    CheckIn,
    CheckOut,
    DeleteAccountIn,
    FindingOut,
    ReviewedIn,
    ReviewedOut,
    SafetyItemOut,
)

router = APIRouter(prefix="/api/v1", tags=["safety"])
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("/posts/check", response_model=CheckOut, dependencies=[requires(Action.reply)])
async def check(data: CheckIn, user: CurrentUser) -> CheckOut:
    """What the composer shows before posting: personal information found (the same check
    the server makes when the post is sent) and phrases that read as medical instructions."""
    findings = check_post(data.title, data.body, region=user.country)
    advice = instruction_phrases(data.body)
    return CheckOut(
        findings=[
            FindingOut(**f.as_dict(), label=f.label, placeholder=f.placeholder) for f in findings
        ],
        advice=[AdviceOut(text=a.text, start=a.start, end=a.end) for a in advice],
        advice_hint=HINT if advice else None,
    )


def safety_item_out(item: SafetyItem) -> SafetyItemOut:
    return SafetyItemOut(
        id=item.id,
        kind=item.kind,
        label=item.label,
        detail=item.detail,
        created_at=item.created_at,
        post_id=item.post_id,
        discussion_id=item.discussion_id,
        discussion_title=item.discussion_title,
        author=item.author,
        excerpt=item.excerpt,
        status=item.status,
        deleted=item.deleted,
        url=f"/posts/{item.post_id}",
    )


@router.post(
    "/mod/safety/{review_id}/resolve",
    response_model=ReviewedOut,
    dependencies=[requires(Action.moderate)],
)
async def mark_reviewed(
    review_id: IdPath, data: ReviewedIn, session: SessionDep, user: CurrentUser
) -> ReviewedOut:
    review = await queue.mark_reviewed(
        session, moderator=user, review_id=review_id, reason=data.reason
    )
    return ReviewedOut(
        id=review.id, resolved_by=review.resolved_by_name, resolved_at=review.resolved_at
    )


@router.get(
    "/me/export",
    dependencies=[requires(Action.edit_own_profile)],
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "a ZIP of JSON files"}},
)
async def export_my_data(request: Request, user: CurrentUser) -> StreamingResponse:
    """Everything the site holds about you, as a ZIP (streamed; rate limited)."""
    await limit(request, "export_user", str(user.id))
    return export_response(request, user)


def export_response(request: Request, user: User) -> StreamingResponse:
    filename = f"kindred-{user.username}-{utcnow():%Y%m%d}.zip"
    return StreamingResponse(
        export_zip(
            request.app.state.db.sessionmaker, user_id=user.id, settings=request.app.state.settings
        ),
        media_type="application/zip",
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )


@router.delete("/me", status_code=204, dependencies=[requires(Action.edit_own_profile)])
async def delete_me(
    request: Request,
    data: DeleteAccountIn,
    session: SessionDep,
    user: CurrentUser,
    hasher: HasherDep,
) -> Response:
    """Delete your account (your current password is required; see the settings page for
    exactly what happens)."""
    await signin.check_current_password(request, user)
    try:
        await deletion.delete_account(
            session, hasher, user=user, password=data.password, mode=data.mode
        )
    except Invalid as exc:
        await signin.count_wrong_current_password(request, user, exc)
        raise
    return Response(status_code=204)
