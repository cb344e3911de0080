from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.access.permissions import Action
from app.accounts.deps import CurrentUser, requires
from app.core.validation import MAX_ID
from app.db import SessionDep
from app.safety import queue
from app.safety.advice import HINT, instruction_phrases
from app.safety.personal_info import check_post
from app.safety.queue import SafetyItem
from app.safety.schemas import (
    AdviceOut,
    CheckIn,
    CheckOut,
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
