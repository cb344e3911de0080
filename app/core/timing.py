"""Answers that take the same time whatever they found.

Registration and password reset must not tell, by how long they take, whether an address
has an account. Their work is made alike where it can be (one password hash on both
paths of a registration), and the answer is then held until a fixed time has passed since
the work began (`KINDRED_UNIFORM_ANSWER_SECONDS`), well above what either path costs, so
what is left of the difference is below what a network shows.

The wait happens in `core.http_policy.HttpPolicyMiddleware`, just before the response
starts: after the request's transaction has committed, so no lock is held while waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import MutableMapping
from typing import Any

from fastapi import Request

HOLDER = "kindred.answer_not_before"


def uniform_duration(request: Request) -> None:
    """From now, this request's answer is sent no sooner than `uniform_answer_seconds`."""
    holder = request.scope.get(HOLDER)
    if holder is not None:
        seconds: float = request.app.state.settings.uniform_answer_seconds
        holder["at"] = time.perf_counter() + seconds


async def wait_for_answer_time(holder: MutableMapping[str, Any]) -> None:
    at = holder.get("at")
    if at is not None:
        left = at - time.perf_counter()
        if left > 0:
            await asyncio.sleep(left)
