"""/admin/library: every page with its dates, overdue reviews first; unpublishing hides a
page from everyone else (404), publishing brings it back."""

from __future__ import annotations

import re
from typing import Any

from app.library.content import parse_page_text
from app.library.service import import_pages


def page(slug: str, next_review: str | None) -> str:
    review = f"next_review: {next_review}\n" if next_review else ""
    return (
        f"---\ntitle: {slug.title()}\nslug: {slug}\nsummary: S.\npublished: 2020-01-01\n"
        f"{review}---\n## Definition\n\nText.\n"
    )


async def test_overdue_first_then_by_next_review(
    app: Any, make_client: Any, admin: Any, member: Any
) -> None:
    async with app.state.db.sessionmaker() as s:
        await import_pages(
            s,
            pages=[
                parse_page_text(page("alpha", None), "a.md"),
                parse_page_text(page("beta", "2099-01-01"), "b.md"),
                parse_page_text(page("gamma", "2021-06-01"), "c.md"),
                parse_page_text(page("delta", "2020-06-01"), "d.md"),
            ],
        )
        await s.commit()
    boss = await make_client(admin)
    html = (await boss.get("/admin/library")).text
    order = re.findall(r'<th scope="row"><a href="/library/([a-z]+)"', html)
    assert order == ["delta", "gamma", "beta", "alpha"]
    assert html.count("Review overdue") == 2
    assert (await (await make_client(member)).get("/admin/library")).status_code == 403
    r = await boss.form("/admin/library/beta/unpublish")
    assert r.status_code == 303 and "library-unpublished" in r.headers["location"]
    anon = await make_client()
    assert (await anon.get("/library/beta")).status_code == 404
    assert "/library/beta" not in (await anon.get("/library")).text
    assert (await boss.form("/admin/library/beta/retire")).status_code == 422
    assert (await boss.form("/admin/library/nope/publish")).status_code == 404
