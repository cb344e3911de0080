"""A condition page costs the same number of statements with 2 trials as with 60, and with
3 specialists as with 120 (each kind of child is one query, never one per row)."""

from __future__ import annotations

from typing import Any

from app.library.content import parse_page_text
from app.library.service import import_pages


def page_text(slug: str, n: int) -> str:
    specialists = "".join(
        f"  - {{name: Doc {i}, specialty: Hematology, tier: expert, city: City{i}, country: US}}\n"
        for i in range(n * 2)
    )
    trials = "".join(
        f"  - {{id: EXAMPLE-{i}, title: Trial {i}, status: recruiting, min_age: {i % 5} years, "
        f"locations: [{{city: A, country: US, status: recruiting}}, "
        f"{{city: B, country: CA, status: completed}}]}}\n"
        for i in range(1, n + 1)
    )
    return (
        f"---\ntitle: Condition {slug}\nslug: {slug}\nsummary: S.\npublished: 2024-01-01\n"
        f"groups: [blood-cancers-disorders]\nreferences: [R1, R2]\n"
        f"specialists:\n{specialists}trials:\n{trials}---\n## Definition\n\nText.\n"
    )


async def test_library_page_statement_count_is_constant(
    app: Any, library: str, make_client: Any, member: Any, count_queries: Any
) -> None:
    async with app.state.db.sessionmaker() as s:
        await import_pages(
            s,
            pages=[
                parse_page_text(page_text("small", 2), "small.md"),
                parse_page_text(page_text("large", 60), "large.md"),
            ],
        )
        await s.commit()
    reader = await make_client(member)
    counts = []
    for url in (
        "/library/small",
        "/library/large",
        "/library/large?age=3&age_unit=years&country=US",
    ):
        await reader.get(url)
        with count_queries() as statements:
            r = await reader.get(url)
        assert r.status_code == 200
        counts.append(len(statements))
    assert len(set(counts)) == 1, counts
    # session and member; the page; sections, people, references, specialists, advances,
    # groups; trials and their sites; the groups' discussions; the member's saved item
    assert counts[0] == 12, counts
