"""Reading condition-page files: YAML front matter (schemas.FrontMatter) and a Markdown body
whose `## ` headings are the sections, in order.

Nothing here touches the database: a file either becomes a `PageContent` or a list of
`ContentError`s (file, field, reason), so a whole folder can be checked before anything is
imported (`kindred library import --dry-run`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler
from pydantic import ValidationError

from app.core.text import slugify
from app.library.schemas import FrontMatter, TrialIn

MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class ContentError:
    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


class ContentErrors(Exception):
    def __init__(self, errors: list[ContentError]) -> None:
        super().__init__("; ".join(map(str, errors)))
        self.errors = errors


@dataclass(frozen=True)
class SectionContent:
    heading: str
    anchor: str
    body_md: str


@dataclass
class PageContent:
    source: str
    meta: FrontMatter
    sections: list[SectionContent] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.meta.resolved_slug


# -- YAML, without its date guessing and with duplicate keys refused ------------------------


class _Loader(yaml.SafeLoader):
    """Safe YAML that keeps dates as the text written (FrontMatter checks them, so a bad
    date is named by its field instead of failing the whole file) and refuses a key given
    twice (YAML would silently keep the last)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Handler(YAMLHandler):
    def load(self, fm: str, **kwargs: Any) -> Any:
        return yaml.load(fm, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)


def field_name(loc: Iterable[Any]) -> str:
    """('specialists', 0, 'tier') -> 'specialists[0].tier'."""
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += ("." if name else "") + str(part)
    return name or "front matter"


def pydantic_errors(source: str, exc: ValidationError, prefix: str = "") -> list[ContentError]:
    errors = []
    for err in exc.errors():
        message = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        name = field_name(err.get("loc", ()))
        if err.get("type") == "missing":
            message = "is required"
        elif err.get("type") == "extra_forbidden":
            message = "is not a field of the content format (a typo?)"
        errors.append(ContentError(source, prefix + name, message))
    return errors


# -- the body ------------------------------------------------------------------------------

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
# the page's own parts have these anchors: a section of the same name gets another
RESERVED_ANCHORS = frozenset(
    {
        "specialists",
        "trials",
        "advances",
        "community",
        "sources",
        "references",
        "main",
        "toc-heading",
        "page-title",
        "tiers",
    }
)


def split_sections(source: str, body: str) -> list[SectionContent]:
    """The body's `## ` headings, in order, each with the Markdown under it."""
    sections: list[tuple[str, list[str]]] = []
    preamble: list[str] = []
    in_fence = False
    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        if not in_fence and line.startswith("## "):
            sections.append((line[3:].strip().rstrip("#").strip(), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            preamble.append(line)
    errors = []
    if "".join(preamble).strip():
        errors.append(
            ContentError(
                source, "body", "text before the first section: start with a `## ` heading"
            )
        )
    if not sections:
        errors.append(ContentError(source, "body", "has no sections (`## Definition`, ...)"))
    anchors: set[str] = set()
    result = []
    for heading, lines in sections:
        text = "\n".join(lines).strip("\n")
        if not heading:
            errors.append(ContentError(source, "body", "a `## ` heading has no text"))
            continue
        if not text.strip():
            errors.append(ContentError(source, f"body: section {heading!r}", "is empty"))
        if len(heading) > 200:
            errors.append(
                ContentError(source, f"body: section {heading[:40]!r}", "heading too long")
            )
        anchor = base = slugify(heading, max_length=70, fallback="section")
        n = 2
        if anchor in RESERVED_ANCHORS:
            anchor = base = f"{base}-section"
        while anchor in anchors:
            anchor, n = f"{base}-{n}", n + 1
        anchors.add(anchor)
        result.append(SectionContent(heading=heading, anchor=anchor, body_md=text))
    if errors:
        raise ContentErrors(errors)
    return result


def parse_page_text(text: str, source: str) -> PageContent:
    errors: list[ContentError] = []
    if "\x00" in text:
        raise ContentErrors([ContentError(source, "file", "contains a NUL character")])
    try:
        post = frontmatter.loads(text, handler=_Handler())
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f" (line {where.line + 2})" if where is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ContentErrors([ContentError(source, "front matter", f"{problem}{line}")]) from None
    if not isinstance(post.metadata, dict) or not post.metadata:
        raise ContentErrors(
            [ContentError(source, "front matter", "missing: the file must start with --- YAML ---")]
        )
    meta: FrontMatter | None = None
    try:
        meta = FrontMatter.model_validate(post.metadata)
    except ValidationError as exc:
        errors.extend(pydantic_errors(source, exc))
    sections: list[SectionContent] = []
    try:
        sections = split_sections(source, post.content)
    except ContentErrors as exc:
        errors.extend(exc.errors)
    if errors or meta is None:
        raise ContentErrors(errors)
    return PageContent(source=source, meta=meta, sections=sections)


def parse_page_file(path: Path) -> PageContent:
    source = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ContentErrors([ContentError(source, "file", "is larger than 1 MB")])
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ContentErrors([ContentError(source, "file", "is not UTF-8 text")]) from None
    except OSError as exc:
        raise ContentErrors([ContentError(source, "file", exc.strerror or str(exc))]) from None
    return parse_page_text(text, source)


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders give their `*.md` files (recursively), in name order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.md") if p.is_file()))
        else:
            files.append(path)
    return files


def duplicate_slugs(pages: list[PageContent]) -> list[ContentError]:
    first: dict[str, str] = {}
    errors = []
    for page in pages:
        if page.slug in first:
            errors.append(
                ContentError(
                    page.source,
                    "slug" if page.meta.slug else "title",
                    f"the slug {page.slug!r} is also used by {first[page.slug]}",
                )
            )
        else:
            first[page.slug] = page.source
    return errors


# -- ClinicalTrials.gov API v2 --------------------------------------------------------------


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


_CTGOV_AGE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(Years?|Months?|Weeks?|Days?|Hours?|Minutes?)\s*$", re.I
)


def _ctgov_age(value: Any) -> Any:
    """'6 Months' -> '6 months'; CT.gov's 'N/A' (no limit) -> None."""
    if value is None or (isinstance(value, str) and value.strip().upper() in ("", "N/A")):
        return None
    if isinstance(value, str):
        match = _CTGOV_AGE.match(value)
        if match and match.group(2).lower().startswith(("hour", "minute")):
            return "0 days"
        if match:
            return f"{match.group(1)} {match.group(2).lower()}"
    return value


def parse_ctgov_studies(text: str, source: str) -> list[TrialIn]:
    """Studies in the ClinicalTrials.gov API v2 format (`{"studies": [{"protocolSection":
    ...}]}`, or one study on its own) as the library's trials."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContentErrors([ContentError(source, "file", f"is not JSON: {exc}")]) from None
    studies = data.get("studies") if isinstance(data, dict) and "studies" in data else [data]
    if not isinstance(studies, list) or not studies:
        raise ContentErrors([ContentError(source, "studies", "no studies in the file")])
    trials: list[TrialIn] = []
    errors: list[ContentError] = []
    for index, study in enumerate(studies):
        protocol = _get(study, "protocolSection")
        prefix = f"studies[{index}]"
        if not isinstance(protocol, dict):
            errors.append(ContentError(source, prefix, "has no protocolSection"))
            continue
        nct = _get(protocol, "identificationModule", "nctId")
        if isinstance(nct, str):
            prefix += f" ({nct})"
        locations = _get(protocol, "contactsLocationsModule", "locations") or []
        raw = {
            "id": nct,
            "title": _get(protocol, "identificationModule", "briefTitle"),
            "summary": _get(protocol, "descriptionModule", "briefSummary") or "",
            "status": _get(protocol, "statusModule", "overallStatus"),
            "conditions": _get(protocol, "conditionsModule", "conditions") or [],
            "min_age": _ctgov_age(_get(protocol, "eligibilityModule", "minimumAge")),
            "max_age": _ctgov_age(_get(protocol, "eligibilityModule", "maximumAge")),
            "sex": _get(protocol, "eligibilityModule", "sex") or "all",
            "url": f"https://clinicaltrials.gov/study/{nct}"
            if isinstance(nct, str) and nct.startswith("NCT")
            else "",
            "sample": isinstance(nct, str) and nct.startswith("EXAMPLE-"),
            "locations": [
                {
                    "facility": _get(loc, "facility") or "",
                    "city": _get(loc, "city") or "",
                    "region": _get(loc, "state") or "",
                    "country": _get(loc, "country"),
                    "status": _get(loc, "status") or "unknown",
                }
                for loc in (locations if isinstance(locations, list) else [])
            ],
        }
        try:
            trials.append(TrialIn.model_validate(raw))
        except ValidationError as exc:
            errors.extend(pydantic_errors(source, exc, prefix=prefix + "."))
    if errors:
        raise ContentErrors(errors)
    return trials
