"""The markup of posts as the discussion page and the live updates show them: the templates'
`posts(items, v)` (templates/discussions/discussion.html, notifications/post_fragment.html).

Each item is a PostView (views.py), `v` the page's PostActions: who is looking and what they
may do. The body HTML was sanitized when written (the only markup let through unescaped); a
concealed post never shows its text.

This is Python rather than a Jinja macro because it runs twenty times and more on every
discussion page, the page read most: as a macro (templates/components/post.html, until
December 2026) it cost some 330 µs of a signed-in page's 1,160 (about 450 autoescape calls
and 530 attribute look-ups a page); this costs about 150. It writes what the macro wrote,
byte for byte, its odd whitespace included (what Jinja's trim_blocks/lstrip_blocks left), and
escapes the same values the same way (markupsafe's routine, as the templates' autoescaping
does: app/core/templating.py `escape_output`). Every text a member wrote (names, the return
address, the CSRF token) goes through `_escape`; numbers are printed as digits; the rest is
fixed text. tests/discussions/test_post_markup_escapes_what_members_wrote.py holds that.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from markupsafe import Markup, escape

from app.core.templating import MENTOR_FOOTER, escape_output, moment_html
from app.discussions.models import ReactionKind
from app.discussions.views import REACTION_BITS, PostActions, PostView

_MENTOR_NOTE = f'<p class="mentor-note">{escape(MENTOR_FOOTER)}</p>'
_HELD_NOTE = (
    '-held">Only you and the moderators can see this post for now: a new member&rsquo;s first'
    " posts are read by a moderator before everyone sees them. You will get a notification"
    " when it is approved, or if it is not.</p>\n"
)
_HELPFUL = REACTION_BITS[ReactionKind.helpful]
_HUG = REACTION_BITS[ReactionKind.hug]
_MOD_ACTIONS = {"pending": ("approve", "Approve"), "hidden": ("restore", "Restore")}
_HIDE = ("hide", "Hide")


class PostsHtml:
    """`posts(items, v)`: the markup of a list of posts, as one Markup."""

    __slots__ = ("_badges",)

    def __init__(self, badges: Mapping[str, Markup]) -> None:
        """`badges`: for each role, what follows an author's name (a space and the badge, or
        nothing)."""
        self._badges = {role: str(badge) for role, badge in badges.items()}

    def __call__(self, items: Iterable[PostView], v: PostActions) -> Markup:
        _escape = escape_output
        badges = self._badges
        viewer_id, can_reply, can_flag, can_moderate = (
            v.viewer_id,
            v.can_reply,
            v.can_flag,
            v.can_moderate,
        )
        # escaped when first printed: a visitor's token may be made only then (LazyToken)
        csrf_token = ""
        return_to = _escape(v.return_to)
        now = time.time()  # one "... ago" clock for the whole list
        out: list[str] = []
        add = out.append
        for p in items:
            id = p.id
            author = _escape(p.author)
            status = p.status
            deleted_at = p.deleted_at
            edited_at = p.edited_at
            author_role = p.author_role
            add(
                f'<article class="{_escape(p.css_class)}" id="post-{id}"'
                f' aria-labelledby="post-{id}-author">\n  <header class="post-head">\n'
                f'    <a class="author" id="post-{id}-author" href="/users/{author}">{author}</a>'
                f"{badges[author_role]}\n"
            )
            if p.is_opening:
                add('<span class="post-kind">started the discussion</span>')
            if p.in_reply_to:
                add(
                    f'<span class="in-reply-to">in reply to <a href="#post-{p.reply_to_id}">'
                    f"@{_escape(p.in_reply_to)}</a></span>"
                )
            add(
                '    <span class="sep" aria-hidden="true">&middot;</span>\n'
                f'    <a class="when" href="/posts/{id}">{moment_html(p.created_at, now)}</a>\n'
            )
            if edited_at and not deleted_at:
                add('<span class="edited">edited</span>')
            if status != "visible" and not deleted_at:
                if status == "pending":
                    add('<span class="status-label status-pending">Awaiting approval</span>')
                elif not p.concealed:
                    add('<span class="status-label status-hidden">Hidden from members</span>')
            add("  </header>\n")
            if status == "pending" and not deleted_at and viewer_id == p.author_id:
                add(f'    <p class="held-note" id="post-{id}{_HELD_NOTE}')
            if deleted_at:
                add('    <p class="post-body removed">This post was deleted.')
                if can_moderate:
                    add(
                        f' <a href="/mod/posts/{id}/deleted">View or restore'
                        f'<span class="visually-hidden"> {author}&rsquo;s deleted post</span></a>'
                    )
                add("</p>\n")
                add("</article>\n")
                continue
            if p.concealed:
                add(
                    '    <p class="post-body removed">This post is hidden while a moderator'
                    " reviews it.</p>\n</article>\n"
                )
                continue
            # the one value written unescaped: sanitized when it was written
            add(f'    <div class="post-body" dir="auto">{p.body_html}</div>\n')
            if author_role == "mentor":
                add(_MENTOR_NOTE)
            add('    <footer class="post-actions">\n      <span class="reactions">\n')
            helpful_count, hug_count = p.helpful_count, p.hug_count
            others = viewer_id and viewer_id != p.author_id
            if others:
                mine = p.my_reactions or 0  # PostView.my_helpful, .my_hug
                csrf_token = csrf_token or _escape(v.csrf_token)
                add(
                    f'        <form method="post" action="/posts/{id}/reactions" class="inline">\n'
                    f'          <input type="hidden" name="csrf_token" value="{csrf_token}">\n'
                    '          <button type="submit" name="kind" value="helpful" class="reaction"'
                    f' aria-pressed="{"true" if mine & _HELPFUL else "false"}">Helpful'
                    f' <span class="count">{helpful_count}</span></button>\n'
                    '          <button type="submit" name="kind" value="hug" class="reaction"'
                    f' aria-pressed="{"true" if mine & _HUG else "false"}">Hug'
                    f' <span class="count">{hug_count}</span></button>\n        </form>\n'
                )
                if helpful_count or hug_count:
                    add(
                        f'<a class="who-reacted" href="/posts/{id}/reactions">Who reacted'
                        f'<span class="visually-hidden"> to {author}&rsquo;s post</span></a>'
                    )
            else:
                if helpful_count:
                    add(
                        f'<a class="reaction-count" href="/posts/{id}/reactions">'
                        f"Helpful {helpful_count}</a>"
                    )
                if hug_count:
                    add(
                        f'<a class="reaction-count" href="/posts/{id}/reactions">'
                        f"Hug {hug_count}</a>"
                    )
            add("      </span>\n")
            if can_reply:
                add(
                    f'<a href="/posts/{id}/reply" class="reply-link">Reply'
                    f'<span class="visually-hidden"> to {author}</span></a>'
                )
            if p.editable:
                add(
                    f'<a class="edit-link" href="/posts/{id}/edit">Edit'
                    f'<span class="visually-hidden"> {author}&rsquo;s post</span></a>'
                )
            if can_flag and others:
                add(
                    f'<a class="flag-link" href="/posts/{id}/flag">Flag'
                    f'<span class="visually-hidden"> {author}&rsquo;s post for moderators'
                    "</span></a>"
                )
            if edited_at and not can_moderate and viewer_id == p.author_id:
                add(
                    f'<a class="history-link" href="/posts/{id}/history">History'
                    '<span class="visually-hidden"> of your post</span></a>'
                )
            if can_moderate:
                if edited_at:
                    add(
                        f'<a class="history-link" href="/posts/{id}/history">History'
                        f'<span class="visually-hidden"> of {author}&rsquo;s post</span></a>'
                    )
                action, label = _MOD_ACTIONS.get(status, _HIDE)
                csrf_token = csrf_token or _escape(v.csrf_token)
                add(
                    f'        <form method="post" action="/mod/posts/{id}/{action}"'
                    ' class="inline">\n'
                    f'          <input type="hidden" name="csrf_token" value="{csrf_token}">\n'
                    '          <input type="hidden" name="return_to"'
                    f' value="{return_to}#post-{id}">\n'
                    f'          <button type="submit" class="link-button">{label}'
                    f'<span class="visually-hidden"> {author}&rsquo;s post</span></button>\n'
                    "        </form>\n"
                )
            add("    </footer>\n</article>\n")
        return Markup("".join(out))  # noqa: S704 (every value above is escaped or digits)
