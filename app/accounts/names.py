"""What a username may be: the one rule, used by registration and by `kindred users
check-names` (and frozen into migration a10accounts, which renamed the accounts made before
the rule was whole).

A name is 3 to 30 of `A-Z a-z 0-9 _ . -`, matched in full (`re.fullmatch`: `$` would let a
final newline through, and "moderator\\n" would show as "moderator"). It may not be a reserved
name, nor look like one: its *skeleton* (lower case, the look-alike digits read as letters,
separators dropped) may not be a reserved name's skeleton, so "m0derator", "Admin_" and
"s.t.a.f.f" are refused as "moderator", "admin" and "staff" are.
"""

from __future__ import annotations

import re

USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{3,30}")
RESERVED_USERNAMES = frozenset(
    {
        "admin",
        "administrator",
        "moderator",
        "moderators",
        "mod",
        "mods",
        "staff",
        "support",
        "help",
        "kindred",
        "system",
        "root",
        "owner",
        "team",
        "official",
        "security",
        "abuse",
        "postmaster",
        "webmaster",
        "nurse",
        "doctor",
        "anonymous",
        "deleted",
        "everyone",
        "here",
        "all",
        "api",
        "login",
        "logout",
        "register",
        "settings",
        "me",
        "null",
        "undefined",
        "mentor",
        "mentors",
    }
)
# digits people use for the letters they look like
_LOOKALIKES = str.maketrans({"0": "o", "1": "l", "i": "l", "3": "e", "4": "a", "5": "s", "7": "t"})
_SEPARATORS = re.compile(r"[_.\-]+")


def skeleton(name: str) -> str:
    """What a name looks like at a glance: lower case, look-alike digits as letters, no
    separators ("M0d_erator" and "moderator" have the same skeleton)."""
    return _SEPARATORS.sub("", name.lower()).translate(_LOOKALIKES)


_RESERVED_SKELETONS = frozenset(skeleton(n) for n in RESERVED_USERNAMES)


def username_problem(name: str) -> str | None:
    """Why `name` cannot be a username, or None when it can."""
    if not USERNAME_RE.fullmatch(name):
        return "use 3 to 30 letters, digits, '_', '.' or '-'"
    if name.lower() in RESERVED_USERNAMES or skeleton(name) in _RESERVED_SKELETONS:
        return "this name is reserved; please choose another"
    return None


def rename_plan(
    accounts: list[tuple[int, str]], taken_keys: set[str]
) -> list[tuple[int, str, str, str]]:
    """For each account whose name no longer passes: (id, old name, new name, why).

    The new name is the old one with the characters that may not appear removed, when that
    passes and nobody has it; otherwise `member-<id>`. `taken_keys` (lower-cased names in
    use) is updated as names are handed out."""
    plan = []
    for account_id, name in accounts:
        why = username_problem(name)
        if why is None:
            continue
        cleaned = "".join(re.findall(r"[A-Za-z0-9_.-]", name))[:30]
        new = cleaned
        if username_problem(cleaned) is not None or cleaned.lower() in taken_keys:
            new = f"member-{account_id}"
            n = 1
            while new.lower() in taken_keys:
                n += 1
                new = f"member-{account_id}-{n}"
        taken_keys.add(new.lower())
        plan.append((account_id, name, new, why))
    return plan
