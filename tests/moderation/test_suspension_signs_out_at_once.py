from datetime import timedelta

from app.accounts.models import Role
from app.db import utcnow


async def test_suspension_revokes_sessions_and_tokens_and_blocks_sign_in(
    make_client, member, moderator, group
):
    c = await make_client(member)
    token = (
        await c.api(
            "POST",
            "/api/v1/auth/token",
            json={"username": member.username, "password": "correct horse battery"},
        )
    ).json()["access_token"]
    mod = await make_client(moderator)
    until = (utcnow() + timedelta(days=7)).isoformat()
    r = await mod.api(
        "PATCH",
        f"/api/v1/mod/users/{member.username}",
        json={"suspend": True, "suspended_until": until, "reason": "repeated spam"},
    )
    assert r.status_code == 200 and r.json()["suspended"] is True
    assert (await c.get("/api/v1/me")).status_code == 401
    anon = await make_client()
    assert (
        await anon.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 401
    r = await anon.api(
        "POST",
        "/api/v1/auth/token",
        json={"username": member.username, "password": "correct horse battery"},
    )
    assert r.status_code == 403 and "repeated spam" in r.json()["detail"]
    r = await mod.api(
        "PATCH",
        f"/api/v1/mod/users/{member.username}",
        json={"suspend": False, "reason": "appeal accepted"},
    )
    assert r.json()["suspended"] is False
    r = await anon.api(
        "POST",
        "/api/v1/auth/token",
        json={"username": member.username, "password": "correct horse battery"},
    )
    assert r.status_code == 201


async def test_moderators_cannot_suspend_moderators_or_themselves(
    make_client, moderator, make_user
):
    mod = await make_client(moderator)
    other_mod = await make_user("mod_other", Role.moderator)
    r = await mod.api(
        "PATCH", f"/api/v1/mod/users/{other_mod.username}", json={"suspend": True, "reason": "x"}
    )
    assert r.status_code == 422
    r = await mod.api(
        "PATCH", f"/api/v1/mod/users/{moderator.username}", json={"suspend": True, "reason": "x"}
    )
    assert r.status_code == 422


async def test_only_admins_change_roles(make_client, moderator, admin, member):
    mod = await make_client(moderator)
    r = await mod.api("PATCH", f"/api/v1/mod/users/{member.username}", json={"role": "mentor"})
    assert r.status_code == 403
    a = await make_client(admin)
    r = await a.api("PATCH", f"/api/v1/mod/users/{member.username}", json={"role": "mentor"})
    assert r.status_code == 200 and r.json()["role"] == "mentor"
    audit = (await a.get("/api/v1/mod/audit")).json()["entries"]
    assert audit[0]["action"] == "set_role"
