"""Sign-in, registration and posting are rate limited: 429 with Retry-After and a sentence."""

import httpx
import pytest

from app.main import create_app
from tests.conftest import Client, TestDatabase, settings_for_tests, sign_in


@pytest.fixture
async def limited(tmp_path, sessionmaker, database_url):
    settings = settings_for_tests(
        tmp_path,
        database_url,
        rate_limits_enabled=True,
        rate_limit_login_ip="100/minute",
        rate_limit_login_user="3/minute",
        rate_limit_register_ip="2/hour",
        rate_limit_post_user="2/minute",
    )
    db = TestDatabase(database_url, sessionmaker, database_url.startswith("sqlite"))
    app = create_app(settings, database=db)
    clients = []

    async def client(user=None):
        c = Client(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        clients.append(c)
        if user is not None:
            await sign_in(app, c, user)
        return c

    yield app, client
    for c in clients:
        await c.aclose()


async def test_sign_in_attempts_per_username_are_limited(limited, member):
    _app, client = limited
    c = await client()
    for _ in range(3):
        r = await c.post("/api/v1/auth/token", json={"username": member.username, "password": "no"})
        assert r.status_code == 401
    r = await c.post(
        "/api/v1/auth/token",
        json={"username": member.username.upper(), "password": "correct horse battery"},
    )
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited" and "try again" in r.json()["detail"]
    assert int(r.headers["retry-after"]) >= 1


async def test_registrations_per_address_are_limited(limited):
    _app, client = limited
    c = await client()
    for n in range(2):
        r = await c.post(
            "/api/v1/auth/register",
            json={"username": f"new{n}", "email": f"n{n}@x.org", "password": "long pw 123"},
        )
        assert r.status_code == 202
    r = await c.post(
        "/api/v1/auth/register",
        json={"username": "new9", "email": "n9@x.org", "password": "long pw 123"},
    )
    assert r.status_code == 429 and "retry-after" in r.headers


async def test_posting_is_limited_per_member_on_api_and_forms(limited, member, make_user, group):
    app, client = limited
    c = await client(member)
    r = await c.post(
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "t", "body": "b"},
        headers={"x-csrf-token": c.csrf},
    )
    assert r.status_code == 201
    d = r.json()
    r = await c.post(
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": "one"},
        headers={"x-csrf-token": c.csrf},
    )
    assert r.status_code == 201
    r = await c.post(
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": "two"},
        headers={"x-csrf-token": c.csrf},
    )
    assert r.status_code == 429
    page = await c.post(
        f"/discussions/{d['id']}/replies", data={"body": "three", "csrf_token": c.csrf}
    )
    assert page.status_code == 429 and "posting very quickly" in page.text
    other = await client(await make_user())
    r = await other.post(
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": "mine"},
        headers={"x-csrf-token": other.csrf},
    )
    assert r.status_code == 201  # the limit is per member


async def test_redis_storage_shares_counters_between_processes(tmp_path, database_url):
    """Two app instances (as two server processes) count against one Redis."""
    import uuid

    from app.core.errors import RateLimited
    from app.core.ratelimit import RateLimiter

    settings = settings_for_tests(
        tmp_path,
        database_url,
        rate_limits_enabled=True,
        redis_url="redis://127.0.0.1:6379/15",
        rate_limit_register_ip="2/hour",
    )
    first, second = RateLimiter(settings), RateLimiter(settings)
    key = f"203.0.113.{uuid.uuid4().int % 250}-{uuid.uuid4().hex}"
    await first.hit("register_ip", key)
    await second.hit("register_ip", key)
    with pytest.raises(RateLimited):
        await first.hit("register_ip", key)
