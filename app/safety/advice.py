"""Replies that read as medical instructions get a gentle hint in the composer: share
experience, not instructions. Never a refusal: the hint is shown, the post goes through."""

from __future__ import annotations

import re
from dataclasses import dataclass

HINT = (
    "This reads like medical instructions. Members share their own experience; doses and "
    "treatment changes are for the person's own care team. Perhaps: \"What helped me "
    'was..." or "You could ask your doctor about..."'
)

_INSTRUCTIONS = re.compile(
    "|".join(
        (
            r"\byou\s+(?:should|must|need\s+to|have\s+to|ought\s+to)\s+(?:stop|quit|start|"
            r"increase|decrease|double|halve|skip|take|try)\b",
            r"\b(?:stop|quit)\s+taking\s+(?:your|the|it|them|that)\b",
            r"\b(?:double|triple|halve|increase|decrease|up|lower|cut)\s+(?:your|the)\s+"
            r"(?:dose|dosage|meds|medication|medicine|pills)\b",
            r"\b(?:you\s+)?(?:don't|do\s+not|dont)\s+(?:need|have)\s+to\s+(?:see|call|go\s+to|"
            r"listen\s+to)\s+(?:a|your|the)\s+(?:doctor|physician|hematologist|specialist|"
            r"oncologist|GP|ER|hospital|emergency)",
            r"\bno\s+need\s+to\s+(?:see|call)\s+(?:a|your|the)\s+(?:doctor|physician|"
            r"specialist|GP)\b",
            r"\bignore\s+(?:your|the)\s+(?:doctor|physician|hematologist|specialist|oncologist)\b",
            r"\b(?:don't|do\s+not|dont|never)\s+take\s+(?:your|the|any)\s+(?:meds|medication|"
            r"medicine|pills|antibiotics|chemo)\b",
        )
    ),
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class AdvicePhrase:
    text: str
    start: int
    end: int


def instruction_phrases(body: str) -> list[AdvicePhrase]:
    """The phrases of a reply that read as instructions (for the composer's hint)."""
    plain = body.replace("\u2019", "'")
    return [
        AdvicePhrase(body[m.start() : m.end()], m.start(), m.end())
        for m in _INSTRUCTIONS.finditer(plain)
    ][:20]
