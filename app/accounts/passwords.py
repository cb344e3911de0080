"""Whether a new password is strong enough: zxcvbn's estimate (score 3 of 4 at least) and
never the member's name or e-mail address inside it (ASVS 6.2.4, 6.2.11).

Used at registration, password change and reset (the services raise `Invalid` with the
sentence). zxcvbn's work grows with the length of what it is given, so it sees at most the
first 100 characters: a longer password is long enough for its estimate to stand.

zxcvbn is imported on the first password checked, not with the app: its frequency lists
take 12 MB of every server process (measured with /proc VmRSS: 72 MB after importing
app.main, 85 MB with zxcvbn), and most processes serve readers who never set a password.
A process that checks one pays about 0.1 s once.
"""

from __future__ import annotations

MIN_SCORE = 3
CHECKED_LENGTH = 100


def password_problem(password: str, *, username: str, email: str) -> str | None:
    """A sentence saying why the password is refused, or None when it is strong enough."""
    folded = password.casefold()
    local_part = email.split("@", 1)[0].casefold()
    if username and username.casefold() in folded:
        return "The password must not contain your username."
    if email and (email.casefold() in folded or (len(local_part) >= 3 and local_part in folded)):
        return "The password must not contain your e-mail address."
    from zxcvbn import zxcvbn  # noqa: PLC0415 (see the module's docstring)

    result = zxcvbn(password[:CHECKED_LENGTH], user_inputs=[username, email, local_part])
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result["feedback"]
    parts = [feedback.get("warning") or "This password is too easy to guess."]
    parts += feedback.get("suggestions") or []
    return " ".join(p if p.endswith(".") else p + "." for p in parts if p)
