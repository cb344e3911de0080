"""API tokens are listed in settings and can be revoked (issue 10, hole 4): one, or all;
"sign out everywhere else", a password change and a reset end them all."""

from __future__ import annotations

from typing import Any

import httpx

PASSWORD = "correct horse battery"


async def new_token(app: Any, member: Any, name: str, agent: str = "pytest-script/1.0") -> str:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as api:
        r = await api.post(
            "/api/v1/auth/token",
            json={"username": member.username, "password": PASSWORD, "name": name},
            headers={"User-Agent": agent},
        )
    assert r.status_code == 201, r.text
    return str(r.json()["access_token"])


async def works(app: Any, token: str) -> bool:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as api:
        r = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    return r.status_code == 200


async def test_tokens_are_listed_with_name_client_and_use(
    app: Any, make_client: Any, member: Any
) -> None:
    first = await new_token(app, member, "my <b>phone</b> app", agent="KindredPhone/2.1")
    await new_token(app, member, "backup script")
    assert await works(app, first)
    c = await make_client(member)
    listed = (await c.get("/api/v1/me/tokens")).json()
    assert [t["name"] for t in listed] == ["backup script", "my <b>phone</b> app"]
    phone = listed[1]
    assert phone["client"] == "KindredPhone/2.1" and phone["last_used_at"] is not None
    assert listed[0]["last_used_at"] is None
    assert "access_token" not in phone and "token_hash" not in phone
    page = await c.get("/settings")
    assert "my &lt;b&gt;phone&lt;/b&gt; app" in page.text and "KindredPhone/2.1" in page.text
    assert "never used" in page.text


async def test_revoke_one_or_all(app: Any, make_client: Any, member: Any, make_user: Any) -> None:
    a = await new_token(app, member, "a")
    b = await new_token(app, member, "b")
    c = await make_client(member)
    listed = {t["name"]: t["id"] for t in (await c.get("/api/v1/me/tokens")).json()}
    # somebody else's token id is not found
    stranger = await make_client(await make_user("stranger_sam"))
    r = await stranger.api("DELETE", f"/api/v1/me/tokens/{listed['a']}")
    assert r.status_code == 404
    r = await c.form(f"/settings/tokens/{listed['a']}/revoke")
    assert r.status_code == 303 and r.headers["location"].endswith("notice=token-revoked")
    assert not await works(app, a) and await works(app, b)
    r = await c.api("DELETE", "/api/v1/me/tokens/99999999999")
    assert r.status_code in (404, 422)  # out of range: never a 500
    r = await c.form("/settings/tokens/revoke-all")
    assert r.status_code == 303
    assert not await works(app, b)
    assert (await c.get("/api/v1/me/tokens")).json() == []


async def test_sign_out_everywhere_else_ends_tokens(
    app: Any, make_client: Any, member: Any
) -> None:
    t = await new_token(app, member, "t")
    c = await make_client(member)
    r = await c.form("/settings/sessions/end-others")
    assert r.status_code == 303
    assert not await works(app, t)
    assert (await c.get("/api/v1/me")).status_code == 200  # this browser stays


async def test_password_change_ends_every_token(app: Any, make_client: Any, member: Any) -> None:
    t = await new_token(app, member, "t")
    c = await make_client(member)
    r = await c.api(
        "POST",
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "lantern orchard pebble"},
    )
    assert r.status_code == 204
    assert not await works(app, t)


async def test_password_change_with_a_token_ends_that_token_too(app: Any, member: Any) -> None:
    t = await new_token(app, member, "t")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as api:
        r = await api.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": "lantern orchard pebble"},
            headers={"Authorization": f"Bearer {t}"},
        )
    assert r.status_code == 204
    assert not await works(app, t)
