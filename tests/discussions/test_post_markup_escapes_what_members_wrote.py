"""Posts' markup is written in Python (app/discussions/post_html.py), not by an autoescaped
template: every value in it that a person or an address chose must still come out escaped,
and only the body (sanitized when it was written) goes through as it is."""

from __future__ import annotations

from datetime import UTC, datetime

from app.core.templating import LazyToken
from app.discussions.post_html import PostsHtml
from app.discussions.views import PostActions, PostView

NASTY = "<x>&\"'"


def post(**changes: object) -> PostView:
    values: dict[str, object] = dict(
        id=7,
        reply_to_id=3,
        root_id=1,
        depth=4,
        is_opening=False,
        body_md="",
        body_html="<p><em>kept</em></p>",
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        edited_at=datetime(2026, 1, 2, 4, 0, tzinfo=UTC),
        deleted_at=None,
        status="visible",
        helpful_count=2,
        hug_count=1,
        author_id=5,
        author=NASTY,
        author_role="member",
        in_reply_to=NASTY,
        editable=True,
    )
    values.update(changes)
    return PostView(**values)  # type: ignore[arg-type]


def test_names_token_and_return_address_are_escaped_the_body_is_not() -> None:
    actions = PostActions(
        viewer_id=9,
        csrf_token=NASTY,
        can_reply=True,
        can_flag=True,
        can_moderate=True,
        return_to=f"/discussions/1/x?{NASTY}",
    )
    html = str(PostsHtml({"member": ""})([post()], actions))  # type: ignore[dict-item]
    assert NASTY not in html
    escaped = "&lt;x&gt;&amp;&#34;&#39;"
    # the author's name 8 times (link, text, six hidden labels), whom it answers, the token
    # twice (reactions, moderation), the address a moderator comes back to
    assert html.count(escaped) == 12, html
    assert f'value="/discussions/1/x?{escaped}#post-7"' in html
    assert '<div class="post-body" dir="auto"><p><em>kept</em></p></div>' in html


def test_a_visitor_makes_no_token() -> None:
    class Auth:
        made = False

        @property
        def csrf_token(self) -> str:
            Auth.made = True
            return "token"

    actions = PostActions(
        viewer_id=0,
        csrf_token=LazyToken(Auth()),  # type: ignore[arg-type]
        can_reply=False,
        can_flag=False,
        can_moderate=False,
        return_to="/discussions/1/x",
    )
    html = str(PostsHtml({"member": ""})([post(), post(id=8)], actions))  # type: ignore[dict-item]
    assert 'href="/posts/7/reactions">Helpful 2</a>' in html
    assert "csrf_token" not in html
    assert not Auth.made
