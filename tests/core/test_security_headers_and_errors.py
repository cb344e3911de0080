import pytest


@pytest.mark.parametrize(
    "path", ["/", "/groups", "/login", "/api/v1/groups", "/nope", "/static/kindred.css"]
)
async def test_security_headers_on_every_response(client, path):
    r = await client.get(path)
    csp = r.headers["content-security-policy"]
    for directive in (
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "script-src 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"]


async def test_api_errors_are_json_with_detail_and_code(client):
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json() == {
        "detail": "There is no page at this address.",
        "code": "not_found",
    }
    r = await client.request("PUT", "/api/v1/groups")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"


async def test_html_errors_are_pages(client):
    r = await client.get("/groups/unknown-group")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "There is no group at this address." in r.text


async def test_openapi_documents_the_contract(client):
    spec = (await client.get("/openapi.json")).json()
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/groups",
        "/api/v1/groups/{slug}/discussions",
        "/api/v1/discussions/{discussion_id}",
        "/api/v1/discussions/{discussion_id}/posts",
        "/api/v1/posts/{post_id}",
        "/api/v1/posts/{post_id}/reactions",
        "/api/v1/users/{username}",
    ]:
        assert path in spec["paths"], path
    assert {"patch", "delete"} <= set(spec["paths"]["/api/v1/posts/{post_id}"])


@pytest.mark.parametrize(
    "path",
    [
        "/users/%00",
        "/groups/%00",
        "/api/v1/users/a%00b",
        "/api/v1/groups/%00/discussions",
        "/users/" + "x" * 500,
    ],
)
async def test_unstorable_names_in_addresses_are_404_not_500(client, path):
    r = await client.get(path)
    assert r.status_code == 404


async def test_unstorable_sign_in_names_are_plain_bad_credentials(client):
    r = await client.api("POST", "/api/v1/auth/token", json={"username": "a\x00", "password": "x"})
    assert r.status_code == 401
    await client.get("/login")
    r = await client.form("/login", {"username": "a\x00b", "password": "x"})
    assert r.status_code == 401
