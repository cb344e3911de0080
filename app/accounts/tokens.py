"""The secrets of account e-mails: the stateless "confirm your address" token and the
password-reset link's token (derived from a stored nonce)."""

from __future__ import annotations

import re

from app.core.security import Signer

_VERIFY_RE = re.compile(r"^([0-9]{1,10})\.([0-9]{1,12})\.([0-9a-f]{40})$")


def verification_token(signer: Signer, *, user_id: int, email_key: str, issued: int) -> str:
    """Proof that whoever holds it received mail at `email_key` (stateless: it stops
    working when the address changes or after `email_verification_days`)."""
    payload = f"{user_id}.{issued}"
    return f"{payload}.{signer.sign('verify-email', f'{payload}.{email_key}')}"


def read_verification_token(signer: Signer, token: str) -> tuple[int, int, str] | None:
    """(user id, issued at, signature) if the token is well formed; the signature still has
    to be checked against the member's current address (check_verification_token)."""
    match = _VERIFY_RE.match(token)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), match.group(3)


def check_verification_token(
    signer: Signer, *, user_id: int, issued: int, email_key: str, signature: str
) -> bool:
    return signer.verify("verify-email", f"{user_id}.{issued}.{email_key}", signature)


def reset_token(signer: Signer, nonce: str) -> str:
    """The password-reset link's secret: derived from the stored nonce and the app's key,
    so the database alone (which keeps only the SHA-256 of this) cannot produce it."""
    return signer.sign("password-reset", nonce)
