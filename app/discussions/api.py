from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from app.access.fetch import access_discussion, access_post, access_reply_context
from app.access.permissions import Action, check_permission
from app.accounts.deps import AuthDep, CurrentUser, SettingsDep, SignedInViewer
from app.accounts.models import Actor, Role
from app.core.ratelimit import limit
from app.core.templating import MENTOR_FOOTER
from app.core.validation import MAX_ID
from app.db import SessionDep
from app.discussions import posting, reactions, reading
from app.discussions.models import Discussion, Post
from app.discussions.rendering import RenderedBody, rendered_for
from app.discussions.schemas import (
    AuthorOut,
    DiscussionOut,
    DiscussionPageOut,
    PostOut,
    PostPatchIn,
    ReactionIn,
    ReactionStateOut,
    ReplyIn,
    RevisionOut,
)
from app.discussions.views import DiscussionHead, PostView
from app.moderation import service as moderation
from app.safety import review as safety

router = APIRouter(prefix="/api/v1", tags=["discussions"])
# Posting a reply, on a router of its own that create_app includes ahead of every other: a
# request is matched against the routes in order, and behind the others a reply was
# matched against about eighty of them first (FastAPI's matching was a sixth of a reply's
# CPU in the profile).
reply_router = APIRouter(prefix="/api/v1", tags=["discussions"])

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
PageQuery = Annotated[int, Query(ge=1, le=1_000_000)]


def author_out(username: str, role: str) -> AuthorOut:
    return AuthorOut(username=username, role=role, badge=Role(role).badge)


def discussion_out(discussion: DiscussionHead) -> DiscussionOut:
    return DiscussionOut(
        id=discussion.id,
        title=discussion.title,
        slug=discussion.slug,
        group=discussion.group_slug,
        author=author_out(discussion.author, discussion.author_role),
        reply_count=discussion.reply_count,
        created_at=discussion.created_at,
        last_activity_at=discussion.last_activity_at,
        url=discussion.url,
    )


def post_out(view: PostView, discussion_id: int) -> PostOut:
    return PostOut(
        id=view.id,
        discussion_id=discussion_id,
        author=author_out(view.author, view.author_role),
        reply_to=view.reply_to_id,
        depth=view.depth,
        is_opening=view.is_opening,
        body=None if view.deleted or view.concealed else view.body_md,
        body_html=None if view.deleted or view.concealed else view.body_html,
        status=view.status,
        created_at=view.created_at,
        edited_at=view.edited_at,
        deleted=view.deleted,
        reactions=view.counts,
        my_reactions=view.mine,
        url=f"/posts/{view.id}",
        footer=MENTOR_FOOTER if view.author_role == Role.mentor.value else None,
    )


def with_mentions(out: PostOut, rendered: RenderedBody | None) -> PostOut:
    """The @names of a post just written: members mentioned, and "did you mean"."""
    if rendered is not None:
        out.mentions = rendered.mentioned_usernames
        out.unknown_mentions = rendered.unknown_mentions
    return out


@router.get("/discussions/{discussion_id}", response_model=DiscussionPageOut)
async def get_discussion(
    discussion_id: IdPath,
    session: SessionDep,
    auth: AuthDep,
    settings: SettingsDep,
    page: PageQuery = 1,
) -> DiscussionPageOut:
    check_permission(auth.viewer, Action.read)
    discussion, posts = await _page_of_posts(session, discussion_id, auth, settings, page)
    return DiscussionPageOut(
        discussion=discussion_out(discussion),
        page=page,
        pages=reading.pages_for(discussion.top_level_count, settings.discussion_page_size),
        posts=posts,
    )


async def _page_of_posts(
    session: SessionDep, discussion_id: int, auth: AuthDep, settings: SettingsDep, page: int
) -> tuple[DiscussionHead, list[PostOut]]:
    """The discussion and one page of its posts, the question first, as this viewer may
    see them: what the discussion and its posts' endpoints both answer."""
    page_size = settings.discussion_page_size
    discussion, views = await reading.read_discussion(
        session, discussion_id, page=page, page_size=page_size, viewer=auth.viewer
    )
    loaded = reading.arrange_page(
        discussion, views, page=page, page_size=page_size, viewer=auth.viewer
    )
    posts = ([loaded.opening] if loaded.opening else []) + loaded.replies
    return discussion, [post_out(p, discussion.id) for p in posts]


@router.get("/discussions/{discussion_id}/posts", response_model=list[PostOut])
async def list_posts(
    discussion_id: IdPath,
    session: SessionDep,
    auth: AuthDep,
    settings: SettingsDep,
    page: PageQuery = 1,
) -> list[PostOut]:
    check_permission(auth.viewer, Action.read)
    _discussion, posts = await _page_of_posts(session, discussion_id, auth, settings, page)
    return posts


@reply_router.post("/discussions/{discussion_id}/posts", status_code=201, response_model=PostOut)
async def create_reply(
    request: Request,
    discussion_id: IdPath,
    data: ReplyIn,
    session: SessionDep,
    viewer: SignedInViewer,
) -> Response:
    context = await access_reply_context(
        session, discussion_id, reply_to_id=data.reply_to, viewer=viewer
    )
    author = context.member
    await limit(request, "post_user", str(author.id))
    written = await posting.reply(
        session,
        author=author,
        discussion=context.discussion,
        body=data.body,
        reply_to_id=data.reply_to,
        client_key=data.client_key,
        canned_response_id=data.canned_response_id,
        confirm_personal_information=data.confirm_personal_information,
        context=context,
        final=True,
    )
    view = posting.written_view(written, author=author)
    if view is None:
        view = await reading.post_view(session, written.post.id, viewer=author)
    body = post_out(view, context.discussion.id)
    with_mentions(body, written.rendered)
    body.support = safety.support_out(session)
    # a replayed submit answers 200 with the post the first one created
    return JSONResponse(body.model_dump(mode="json"), status_code=201 if written.created else 200)


async def _visible_post(
    session: SessionDep, post_id: int, viewer: Actor | None
) -> tuple[Post, Discussion]:
    post = await access_post(session, post_id, viewer=viewer)
    discussion, _group = await access_discussion(session, post.discussion_id, viewer=viewer)
    return post, discussion


@router.get("/posts/{post_id}", response_model=PostOut)
async def get_post(post_id: IdPath, session: SessionDep, auth: AuthDep) -> PostOut:
    check_permission(auth.viewer, Action.read)
    post, discussion = await _visible_post(session, post_id, auth.viewer)
    return post_out(await reading.post_view(session, post.id, viewer=auth.viewer), discussion.id)


@router.patch("/posts/{post_id}", response_model=PostOut)
async def edit_post(
    request: Request, post_id: IdPath, data: PostPatchIn, session: SessionDep, user: CurrentUser
) -> PostOut:
    post, discussion = await _visible_post(session, post_id, user)
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
    out = post_out(await reading.post_view(session, post.id, viewer=user), discussion.id)
    out.support = safety.support_out(session)
    return with_mentions(out, rendered_for(session, post.body_md))


@router.delete("/posts/{post_id}", status_code=204)
async def delete_post(post_id: IdPath, session: SessionDep, user: CurrentUser) -> Response:
    post, _discussion = await _visible_post(session, post_id, user)
    await moderation.delete_post_as(session, actor=user, post=post)
    return Response(status_code=204)


@router.get("/posts/{post_id}/history", response_model=list[RevisionOut])
async def post_history(
    post_id: IdPath, session: SessionDep, user: CurrentUser
) -> list[RevisionOut]:
    post, _discussion = await _visible_post(session, post_id, user)
    revisions = await posting.post_history(session, viewer=user, post=post)
    return [
        RevisionOut(
            editor=r.editor_name,
            title=r.title,
            body=r.body_md,
            reason=r.reason,
            created_at=r.created_at,
        )
        for r in revisions
    ]


@router.get("/posts/{post_id}/reactions", response_model=dict[str, list[str]])
async def list_reactions(
    post_id: IdPath, session: SessionDep, auth: AuthDep
) -> dict[str, list[str]]:
    check_permission(auth.viewer, Action.read)
    post, _discussion = await _visible_post(session, post_id, auth.viewer)
    return await reactions.reactors(session, post=post)


@router.post("/posts/{post_id}/reactions", response_model=ReactionStateOut)
async def react(
    post_id: IdPath, data: ReactionIn, session: SessionDep, user: CurrentUser
) -> ReactionStateOut:
    post, _discussion = await _visible_post(session, post_id, user)
    kind = reactions.parse_reaction_kind(data.kind)
    active, counts = await reactions.set_reaction(
        session, user=user, post=post, kind=kind, active=data.active
    )
    return ReactionStateOut(post_id=post.id, kind=kind.value, active=active, counts=counts)
