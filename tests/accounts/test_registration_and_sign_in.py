import pytest
from sqlalchemy import select

from app.accounts.models import User
from tests.accounts.registration_support import register_and_confirm


async def register(client, **data):
    return await register_and_confirm(client._transport.app, client, **data)


async def test_register_stores_argon2id_hash_and_never_shows_email(client, make_client):
    r = await register(
        client, username="Sonia_85", email="sonia@example.org", password="s3cret-pass-word"
    )
    assert r.status_code == 201, r.text
    assert r.json()["username"] == "Sonia_85"
    other = await make_client()
    public = await other.get("/api/v1/users/sonia_85")
    assert public.status_code == 200
    assert "sonia@example.org" not in public.text
    page = await other.get("/users/SONIA_85")
    assert page.status_code == 200 and "sonia@example.org" not in page.text


async def test_password_hash_is_argon2id(client, session):
    await register(client, username="hashcheck", email="h@example.org", password="s3cret-pass-word")
    user = await session.scalar(select(User).where(User.username_key == "hashcheck"))
    assert user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("ab", 422),
        ("a" * 31, 422),
        ("has space", 422),
        ("émilie", 422),
        ("admin", 422),
        ("Moderators", 422),
        ("staff", 422),
        ("support", 422),
        ("ok.name-1_x", 201),
    ],
)
async def test_username_rules(client, username, status):
    r = await register(
        client, username=username, email=f"{len(username)}@example.org", password="long enough pw"
    )
    assert r.status_code == status, r.text
    if status == 422:
        assert r.json()["code"] == "validation_error"
        assert "username" in r.json()["detail"]


async def test_duplicate_username_is_409_case_insensitively(client):
    assert (
        await register(
            client, username="johnbishop", email="j@example.org", password="long enough pw"
        )
    ).status_code == 201
    r = await register(
        client, username="JohnBishop", email="x@example.org", password="long enough pw"
    )
    assert r.status_code == 409 and r.json()["code"] == "username_taken"
    # a taken address is answered as a new one (test_registration_never_reveals_an_address)


async def test_role_sent_at_registration_is_refused(client, session):
    r = await register(
        client, username="sneaky", email="s@example.org", password="long enough pw", role="admin"
    )
    assert r.status_code == 422
    assert await session.scalar(select(User).where(User.username_key == "sneaky")) is None


async def test_wrong_password_and_unknown_user_get_the_same_401(client, member):
    bad_pw = await client.api(
        "POST",
        "/api/v1/auth/token",
        json={"username": member.username, "password": "wrong password"},
    )
    unknown = await client.api(
        "POST", "/api/v1/auth/token", json={"username": "nobody_here", "password": "wrong password"}
    )
    assert bad_pw.status_code == unknown.status_code == 401
    assert bad_pw.json() == unknown.json()


async def test_bearer_token_authenticates_api_without_csrf(app, member):
    import httpx

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as api:
        r = await api.post(
            "/api/v1/auth/token",
            json={"username": member.username, "password": "correct horse battery"},
        )
        assert r.status_code == 201, r.text
        token = r.json()["access_token"]
        me = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["username"] == member.username
        bad = await api.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and bad.json()["code"] == "invalid_token"
        revoke = await api.delete(
            "/api/v1/auth/token", headers={"Authorization": f"Bearer {token}"}
        )
        assert revoke.status_code == 204
        again = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert again.status_code == 401


async def test_html_sign_in_sets_a_fresh_session_cookie_and_redirects_locally(client, member):
    client.cookies.set("kindred_session", "attacker-chosen-value")
    await client.get("/login")  # the stale cookie is ignored, an anonymous CSRF cookie is set
    client.csrf = client._transport.app.state.signer.sign("csrf", client.cookies["kindred_anon"])
    r = await client.form(
        "/login",
        {"username": member.username, "password": "correct horse battery", "next": "/groups"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/groups"
    cookie = r.cookies.get("kindred_session")
    assert cookie and cookie != "attacker-chosen-value" and len(cookie) >= 22  # 128 bits
    set_cookie = r.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "path=/" in set_cookie


async def test_form_without_csrf_token_is_refused(client, member):
    await client.get("/login")
    r = await client.post(
        "/login", data={"username": member.username, "password": "correct horse battery"}
    )
    assert r.status_code == 403 and "reload" in r.text


async def test_bad_sign_in_form_shows_one_message(client, member):
    await client.get("/login")
    r = await client.form("/login", {"username": member.username, "password": "nope nope"})
    assert r.status_code == 401 and "Wrong username or password." in r.text
    r = await client.form("/login", {"username": "ghost", "password": "nope nope"})
    assert r.status_code == 401 and "Wrong username or password." in r.text


async def test_sign_out_ends_the_session(make_client, member):
    c = await make_client(member)
    token = c.cookies["kindred_session"]
    assert (await c.get("/api/v1/me")).status_code == 200
    r = await c.form("/logout")
    assert r.status_code == 303
    replay = await make_client()
    replay.cookies.set("kindred_session", token)
    assert (await replay.get("/api/v1/me")).status_code == 401
