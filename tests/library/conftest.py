from __future__ import annotations

from typing import Any

import pytest

from app.demo.library import load_demo_library
from app.groups.service import create_group


@pytest.fixture
async def library(app: Any) -> str:
    """The demo's library (the seed page and the ClinicalTrials.gov sample) with its two
    groups; the page's slug."""
    async with app.state.db.sessionmaker() as s:
        for slug, name in (
            ("blood-cancers-disorders", "Blood Cancers & Disorders"),
            ("childrens-health", "Children's Health"),
        ):
            await create_group(s, slug=slug, name=name, description="")
        await load_demo_library(s)
        await s.commit()
    return "infantile-neutropenia"
