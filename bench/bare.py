"""The bench's ceiling: a bare Starlette app answering every GET with the same bytes.

`python -m bench` fetches a real discussion page from Kindred as a visitor's browser asks
for it (`Accept-Encoding: gzip, deflate, br`, as the load does), writes the body exactly as
sent (gzip-compressed, as the page cache keeps it) to the file named by `BENCH_BARE_BODY`
and its headers to `BENCH_BARE_HEADERS` (JSON pairs; without Date, Server, Content-Length,
which uvicorn and Starlette add, and X-Cache), and serves this module with the same
uvicorn, worker count and flags as Kindred. Every request gets those bytes and headers from
memory: no database, no template, no middleware, only uvicorn and Starlette's routing and
Response. What Kindred serves is read against this (the "vs bare" column), so a page can
be seen to cost, say, three times the least a Python server on this machine needs to send
the same answer.

(It replaced a `StaticFiles` ceiling: a `stat` and a file read per request made it slower
than a discussion page, which flattered the page.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = (
    Path(os.environ.get("BENCH_BARE_BODY", "")).read_bytes()
    if "BENCH_BARE_BODY" in os.environ
    else b"ok"
)
HEADERS: dict[str, str] = (
    dict(json.loads(Path(os.environ["BENCH_BARE_HEADERS"]).read_text()))
    if "BENCH_BARE_HEADERS" in os.environ
    else {"content-type": "text/html; charset=utf-8"}
)


async def page(_request: Request) -> Response:
    return Response(BODY, headers=HEADERS)


app = Starlette(routes=[Route("/{path:path}", page)])
