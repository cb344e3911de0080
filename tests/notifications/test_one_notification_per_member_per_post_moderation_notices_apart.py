"""The database holds "one notification per member per post" (the unique index on post,
member and, for moderation notices only, the notice's own id: migration h16notify):
publishing a post again notifies nobody twice, while moderators may tell a member about the
same post as often as they act on it."""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounts.models import Role
from app.discussions import posting
from app.notifications import hooks
from app.notifications.models import Notification, NotificationKind


async def test_a_post_published_again_notifies_nobody_twice_but_notices_repeat(
    session, make_user, group
):
    asker = await make_user("asker_ann", Role.mentor)
    writer = await make_user("writer_wes", Role.mentor)
    started = await posting.start_discussion(
        session, author=asker, group=group, title="Question", body="?"
    )
    written = await posting.reply(
        session, author=writer, discussion=started.discussion, body="An answer"
    )
    post = written.post
    # published again (as when a moderator approves or restores it)
    await posting.publish_post(session, post=post, discussion=started.discussion, author=writer)
    for message in ("Hidden for a check.", "Hidden again."):
        await hooks.moderation_notice(session, user_id=asker.id, post_id=post.id, message=message)
    await session.flush()
    kinds = (
        await session.execute(
            select(Notification.kind, func.count())
            .where(Notification.post_id == post.id, Notification.user_id == asker.id)
            .group_by(Notification.kind)
        )
    ).all()
    assert dict(kinds) == {NotificationKind.reply_to_you.value: 1, "moderation": 2}
