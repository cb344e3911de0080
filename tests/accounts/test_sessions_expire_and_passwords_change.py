from datetime import timedelta

from sqlalchemy import func, select, update

from app.accounts.models import ApiToken, UserSession
from app.core.security import token_digest
from app.db import utcnow


async def test_idle_session_expires(make_client, member, session):
    c = await make_client(member)
    token = c.cookies["kindred_session"]
    await session.execute(
        update(UserSession)
        .where(UserSession.id == token_digest(token))
        .values(last_seen_at=utcnow() - timedelta(days=30))
    )
    await session.commit()
    assert (await c.get("/api/v1/me")).status_code == 401
    page = await c.get("/")
    assert page.status_code == 200 and "Sign in" in page.text
    assert 'kindred_session=""' in page.headers.get("set-cookie", "")  # the browser forgets it
    assert (
        await session.scalar(
            select(func.count())
            .select_from(UserSession)
            .where(UserSession.id == token_digest(token))
        )
        == 0
    )


async def test_absolute_expiry_ends_even_an_active_session(make_client, member, session):
    c = await make_client(member)
    await session.execute(
        update(UserSession)
        .where(UserSession.id == token_digest(c.cookies["kindred_session"]))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await session.commit()
    assert (await c.get("/api/v1/me")).status_code == 401


async def test_only_the_digest_of_a_session_token_is_stored(make_client, member, session):
    c = await make_client(member)
    token = c.cookies["kindred_session"]
    ids = (await session.scalars(select(UserSession.id))).all()
    assert token not in ids and token_digest(token) in ids


async def test_password_change_needs_current_and_ends_other_sessions(make_client, member, session):
    here = await make_client(member)
    elsewhere = await make_client(member)
    token = await here.api(
        "POST",
        "/api/v1/auth/token",
        json={"username": member.username, "password": "correct horse battery"},
    )
    bearer = token.json()["access_token"]
    wrong = await here.api(
        "POST",
        "/api/v1/me/password",
        json={"current_password": "nope", "new_password": "a new long password"},
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "current_password"
    ok = await here.api(
        "POST",
        "/api/v1/me/password",
        json={"current_password": "correct horse battery", "new_password": "a new long password"},
    )
    assert ok.status_code == 204
    assert (await here.get("/api/v1/me")).status_code == 200
    assert (await elsewhere.get("/api/v1/me")).status_code == 401
    anon = await make_client()
    assert (
        await anon.get("/api/v1/me", headers={"Authorization": f"Bearer {bearer}"})
    ).status_code == 401
    assert await session.scalar(select(func.count()).select_from(ApiToken)) == 0
    login = await anon.api(
        "POST",
        "/api/v1/auth/token",
        json={"username": member.username, "password": "a new long password"},
    )
    assert login.status_code == 201


async def test_profile_bio_update_and_settings_form(make_client, member):
    c = await make_client(member)
    r = await c.api("PATCH", "/api/v1/me", json={"bio": "Caregiver 🙂 <b>not bold</b>"})
    assert r.status_code == 200 and r.json()["bio"] == "Caregiver 🙂 <b>not bold</b>"
    page = await c.get(f"/users/{member.username}")
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page.text
    r = await c.api("PATCH", "/api/v1/me", json={"bio": "x", "role": "admin"})
    assert r.status_code == 422
    r = await c.form("/settings/profile", {"bio": "From the form"})
    assert r.status_code == 303
    assert (await c.get("/api/v1/me")).json()["bio"] == "From the form"
    assert (await c.get("/api/v1/me")).json()["role"] == "member"


async def test_settings_need_sign_in(client):
    r = await client.get("/settings")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/settings"
    r = await client.get("/api/v1/me")
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
