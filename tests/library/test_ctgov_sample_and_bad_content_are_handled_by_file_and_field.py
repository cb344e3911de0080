"""`kindred library import-trials` reads ClinicalTrials.gov's API v2 format and attaches
studies to the pages naming their conditions; `kindred library import` refuses bad files
naming the file and the field, and imports nothing then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.demo.library import CTGOV_SAMPLE, PAGE_FILES
from app.library.content import ContentErrors, parse_ctgov_studies, parse_page_file
from app.library.models import LibraryPage
from app.library.service import import_pages, import_trials

GOOD = PAGE_FILES[0].read_text(encoding="utf-8")


async def test_the_ctgov_sample_attaches_to_the_page_its_conditions_name(
    library: str, client: Any, app: Any
) -> None:
    trials = parse_ctgov_studies(CTGOV_SAMPLE.read_text(encoding="utf-8"), "sample")
    async with app.state.db.sessionmaker() as s:
        attached = await import_trials(s, trials=trials)
        await s.commit()
    assert attached == {
        "EXAMPLE-NEUTROPENIA-1": ["infantile-neutropenia"],  # "Neutropenia - infants"
        "EXAMPLE-ANEMIA-1": [],  # no page is about iron-deficiency anemia
    }
    page = (await client.get(f"/api/v1/library/{library}")).json()
    example = next(t for t in page["trials"] if t["id"] == "EXAMPLE-NEUTROPENIA-1")
    assert example["status"] == "not_yet_recruiting" and example["sample"]
    assert (example["min_age"], example["max_age"], example["sex"]) == (
        "6 months",
        "18 years",
        "all",
    )
    assert [(s["city"], s["status"]) for s in example["locations"]] == [
        ("Seattle", "not_yet_recruiting"),
        ("Toronto", "recruiting"),
    ]
    # recruiting only (the default) leaves the not-yet-recruiting example out
    match = (await client.get(f"/api/v1/library/{library}/trials?age=14&age_unit=months")).json()
    assert [t["id"] for t in match["trials"]] == ["NCT00027274"]
    assert [s["count"] for s in match["funnel"]] == [3, 2, 1]
    match = (
        await client.get(
            f"/api/v1/library/{library}/trials?age=14&age_unit=months&recruiting_only=false"
        )
    ).json()
    assert [t["id"] for t in match["trials"]] == ["NCT00027274", "EXAMPLE-NEUTROPENIA-1"]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BAD = [
    ("missing title", GOOD.replace("title: Infantile Neutropenia\n", ""), "title", "is required"),
    (
        "bad date",
        GOOD.replace("published: 2021-12-10", "published: 2021-13-45"),
        "published",
        "not a real date",
    ),
    (
        "date as words",
        GOOD.replace("published: 2021-12-10", "published: December 10"),
        "published",
        "not an ISO date",
    ),
    (
        "unknown tier",
        GOOD.replace("tier: elite, city: Rochester", "tier: gold, city: Rochester"),
        "specialists[0].tier",
        "elite",
    ),
    (
        "age without a unit",
        GOOD.replace('min_age: "18 years"', "min_age: 18"),
        "trials[1].min_age",
        "no unit",
    ),
    (
        "NO read as false",
        GOOD.replace(
            'country: US, sample: true}\n  - {name: "Sample Listing B',
            'country: NO, sample: true}\n  - {name: "Sample Listing B',
        ),
        "specialists[0].country",
        "false",
    ),
    (
        "10:00 read as a number",
        GOOD.replace("city: Rochester", "city: 10:00"),
        "specialists[0].city",
        "number 600",
    ),
    ("typo in a field", GOOD.replace("also_called:", "also_caled:"), "also_caled", "typo"),
    ("no sections", GOOD.split("## Definition")[0], "body", "no sections"),
    (
        "a key given twice",
        GOOD.replace("slug: infantile-neutropenia\n", "slug: a\nslug: b\n"),
        "front matter",
        "given twice",
    ),
    (
        "a date and a time",
        GOOD.replace("published: 2021-12-10", "published: 2021-12-10 10:00"),
        "published",
        "not an ISO date",
    ),
]


@pytest.mark.parametrize(("case", "text", "field", "reason"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_file_is_refused_naming_file_and_field(
    tmp_path: Path, case: str, text: str, field: str, reason: str
) -> None:
    path = write(tmp_path, "page.md", text)
    with pytest.raises(ContentErrors) as caught:
        parse_page_file(path)
    errors = caught.value.errors
    assert any(e.file == str(path) and e.field == field and reason in e.reason for e in errors), (
        errors
    )


async def test_an_unknown_group_or_a_duplicate_slug_imports_nothing(
    tmp_path: Path, app: Any, library: str
) -> None:
    other = GOOD.replace("slug: infantile-neutropenia", "slug: another-page")
    pages = [
        parse_page_file(write(tmp_path, "a.md", other)),
        parse_page_file(
            write(
                tmp_path,
                "b.md",
                other.replace("groups: [blood-cancers-disorders", "groups: [nope").replace(
                    "slug: another-page", "slug: third-page"
                ),
            )
        ),
    ]
    async with app.state.db.sessionmaker() as s:
        with pytest.raises(ContentErrors) as caught:
            await import_pages(s, pages=pages)
        assert [(e.file, e.field) for e in caught.value.errors] == [
            (str(tmp_path / "b.md"), "groups[0]")
        ]
        await s.rollback()
    pages = [
        parse_page_file(write(tmp_path, "c.md", other)),
        parse_page_file(write(tmp_path, "d.md", other)),
    ]
    async with app.state.db.sessionmaker() as s:
        with pytest.raises(ContentErrors) as caught:
            await import_pages(s, pages=pages)
        [error] = caught.value.errors
        assert error.file == str(tmp_path / "d.md") and error.field == "slug"
        assert str(tmp_path / "c.md") in error.reason
        await s.rollback()
        assert await s.scalar(select(func.count()).select_from(LibraryPage)) == 1


def test_the_command_imports_all_or_nothing_and_dry_runs(tmp_path: Path, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from app.cli import cli
    from tests.conftest import drop_database, fresh_database_url

    url = fresh_database_url(tmp_path, "libcli")
    monkeypatch.setenv("KINDRED_DATABASE_URL", url)
    monkeypatch.setenv("KINDRED_VAR_DIR", str(tmp_path))
    from app.config import get_settings

    get_settings.cache_clear() if hasattr(get_settings, "cache_clear") else None
    try:
        runner = CliRunner()
        good = write(
            tmp_path,
            "good.md",
            GOOD.replace("groups: [blood-cancers-disorders, childrens-health]", "groups: []"),
        )
        bad = write(
            tmp_path,
            "bad.md",
            GOOD.replace("slug: infantile-neutropenia", "slug: other").replace(
                "published: 2021-12-10", "published: soon"
            ),
        )
        lonely = write(
            tmp_path, "lonely.md", GOOD.replace("slug: infantile-neutropenia", "slug: x")
        )
        result = runner.invoke(cli, ["library", "import", str(good), str(bad), str(lonely)])
        assert result.exit_code == 1, result.output
        output = " ".join(result.output.split())
        # every error at once: the bad file's field, and the other file's unknown group
        assert "bad.md: published:" in output and "lonely.md: groups[0]:" in output, output
        assert "nothing was imported" in output
        result = runner.invoke(cli, ["library", "import", "--dry-run", str(good)])
        assert result.exit_code == 0 and "Would import 1 page(s)" in result.output, result.output
        result = runner.invoke(cli, ["library", "import", str(tmp_path / "good.md")])
        assert result.exit_code == 0 and "1 new" in result.output, result.output
        result = runner.invoke(cli, ["library", "import", str(good)])
        assert result.exit_code == 0 and "1 updated" in result.output, result.output
        result = runner.invoke(cli, ["library", "import-trials", str(CTGOV_SAMPLE)])
        assert result.exit_code == 0, result.output
        assert "EXAMPLE-NEUTROPENIA-1: /library/infantile-neutropenia" in result.output
    finally:
        if hasattr(get_settings, "cache_clear"):
            get_settings.cache_clear()
        drop_database(url)
