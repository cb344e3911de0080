from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class SearchHitOut(BaseModel):
    kind: str
    title: str
    url: str
    group: str
    group_name: str
    author: str
    created_at: datetime
    snippet_html: str
    reply_count: int
    marker: str | None = None  # moderators only: held for review, hidden, deleted


class SearchOut(BaseModel):
    results: list[SearchHitOut]
    total: int
    total_capped: bool
    next_cursor: str | None


class SimilarOut(BaseModel):
    id: int
    title: str
    url: str
    group_name: str
    reply_count: int
    answered: bool


class WaitingOut(BaseModel):
    id: int
    title: str
    url: str
    group: str
    author: str
    created_at: datetime
    waited_seconds: int


class GroupMedianOut(BaseModel):
    group: str
    group_name: str
    asked: int
    answered: int
    median_seconds: int | None


class UnansweredOut(BaseModel):
    items: list[WaitingOut]
    next_cursor: str | None
    medians: list[GroupMedianOut]


class TermCountOut(BaseModel):
    terms: str
    searches: int
    zero_results: int


class SearchLogOut(BaseModel):
    """The private search log of the last `days` days, as the moderators' page shows it."""

    days: int
    top: list[TermCountOut]
    found_nothing: list[TermCountOut]
