"""The demo's health library: the seed condition page, converted to the content format
(data/library/infantile-neutropenia.md), and a small ClinicalTrials.gov sample
(data/library/ctgov-sample.json, example studies only). Re-running rewrites the page in
place, so members' saved items stay."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.library.content import parse_ctgov_studies, parse_page_file
from app.library.service import import_pages, import_trials

LIBRARY_DATA = Path(__file__).parent / "data" / "library"
PAGE_FILES = [LIBRARY_DATA / "infantile-neutropenia.md"]
CTGOV_SAMPLE = LIBRARY_DATA / "ctgov-sample.json"


async def load_demo_library(session: AsyncSession) -> None:
    await import_pages(session, pages=[parse_page_file(path) for path in PAGE_FILES])
    await import_trials(
        session,
        trials=parse_ctgov_studies(CTGOV_SAMPLE.read_text(encoding="utf-8"), str(CTGOV_SAMPLE)),
    )
