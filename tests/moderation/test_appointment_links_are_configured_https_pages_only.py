"""Administrators manage appointment links (key, name, https address, description) on
/admin/appointments and /api/v1/admin/appointments; everybody else gets 403. Only plain https
addresses of named websites are accepted: the open-redirect corpus is refused. Every change is
in the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.moderation.canned.appointments import check_destination_url
from app.moderation.models import AppointmentDestination, AuditEntry

CORPUS = Path(__file__).resolve().parents[1] / "corpora" / "open-redirect"

# The corpus lists two addresses that are simply a website's home page: an administrator may
# choose any real https page, so those two are accepted (and would be linked exactly as
# typed). Everything else in it is refused.
PLAIN_PAGES = {"https://google.com", "https://google.com/"}


def corpus_payloads() -> list[str]:
    lines: list[str] = []
    for path in sorted(CORPUS.glob("*.txt")):
        lines += [line for line in path.read_text(encoding="utf-8").splitlines() if line]
    return sorted(set(lines))


def test_the_corpus_is_there():
    assert len(corpus_payloads()) > 250


def is_accepted(url: str) -> bool:
    try:
        check_destination_url(url)
    except ValueError:
        return False
    return True


def test_open_redirect_payloads_are_refused_as_appointment_addresses():
    accepted = {url for url in corpus_payloads() if is_accepted(url)}
    assert accepted == PLAIN_PAGES


@pytest.mark.parametrize(
    "url",
    [
        "http://www.mayoclinic.org/appointments",
        "javascript:alert(1)",
        "JAVASCRIPT://www.example.org/%0Aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "/appointments",
        "//www.example.org/appointments",
        "www.example.org/appointments",
        "https://user:pass@www.example.org/",
        "https://www.example.org@evil.example/",
        "https://127.0.0.1/appointments",
        "https://[::1]/appointments",
        "https://localhost/appointments",
        "https://www.example.org:99999/",
        "https://www.example.org:/",
        "https://www.exa mple.org/",
        "https://www.example.org/a b",
        "https://www.example.org/\\evil.example",
        "https://www.example.org/%2f%2fevil.example",
        "https://www.example.org/a/../b",
        "https://www.example.org//evil.example",
        "https://www.example.org/go?to=https://evil.example",
        "https://www.example.org/%zz",
        "https://www.example.org/%0d%0aSet-Cookie:x",
        "https://exämple.org/",
        "https://-bad.example.org/",
        "https://www.example.org/\u202e",
        "https://www.example.org/" + "a" * 500,
        "https://",
        "",
    ],
)
def test_bad_addresses_are_refused(url):
    assert not is_accepted(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.mayoclinic.org/appointments",
        "https://www.mayoclinic.org/patient-visitor-guide/international-services",
        "https://appointments.example.org:8443/request?lang=ar&src=community#form",
        "https://xn--bcher-kva.example/termin",
        "https://WWW.Example.ORG/Request",
        "https://example.org/a_(b)",
    ],
)
def test_plain_https_pages_are_accepted_as_typed(url):
    assert check_destination_url(url) == url


async def test_non_admins_are_refused_everything(make_client, make_user):
    calls = [
        ("GET", "/api/v1/admin/appointments", None),
        ("POST", "/api/v1/admin/appointments", {"key": "x", "name": "x", "url": "https://a.bc/"}),
        ("PATCH", "/api/v1/admin/appointments/request", {"url": "https://evil.example/"}),
        ("DELETE", "/api/v1/admin/appointments/request", None),
    ]
    pages = [
        ("GET", "/admin/appointments"),
        ("POST", "/admin/appointments"),
        ("GET", "/admin/appointments/request/edit"),
        ("POST", "/admin/appointments/request/edit"),
        ("POST", "/admin/appointments/request/delete"),
    ]
    for role in (Role.member, Role.mentor, Role.moderator):
        c = await make_client(await make_user(f"not_admin_{role.value}", role))
        for method, url, body in calls:
            r = await c.api(method, url, json=body) if body else await c.api(method, url)
            assert r.status_code == 403, (role, method, url)
            assert r.json()["detail"] == "Only administrators can manage appointment links."
        for method, url in pages:
            if method == "GET":
                r = await c.get(url)
            else:
                r = await c.form(url, {"key": "x", "name": "x", "url": "https://evil.example/"})
            assert r.status_code == 403, (role, method, url)
    visitor = await make_client()
    assert (await visitor.get("/api/v1/admin/appointments")).status_code == 401
    r = await visitor.get("/admin/appointments")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    admin = await make_client(await make_user("admin_check", Role.admin))
    listed = (await admin.get("/api/v1/admin/appointments")).json()
    assert [(d["key"], d["url"]) for d in listed] == [
        (
            "international",
            "https://www.mayoclinic.org/patient-visitor-guide/international-services",
        ),
        ("request", "https://www.mayoclinic.org/appointments"),
    ]


async def test_admin_creates_updates_and_deletes_with_audit_entries(make_client, admin, session):
    a = await make_client(admin)
    r = await a.api(
        "POST",
        "/api/v1/admin/appointments",
        json={
            "key": "second-opinion",
            "name": "Second opinions",
            "url": "https://www.example.org/second-opinion",
            "description": "Virtual second opinions",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["used_by"] == []
    r = await a.api(
        "POST",
        "/api/v1/admin/appointments",
        json={"key": "second-opinion", "name": "Again", "url": "https://www.example.org/"},
    )
    assert r.status_code == 409 and r.json()["code"] == "key_taken"
    for payload in (
        {"key": "Bad Key", "name": "x", "url": "https://www.example.org/"},
        {"key": "-x", "name": "x", "url": "https://www.example.org/"},
        {"key": "k" * 41, "name": "x", "url": "https://www.example.org/"},
        {"key": "ok", "name": "", "url": "https://www.example.org/"},
        {"key": "ok", "name": "x", "url": "http://www.example.org/"},
        {"key": "ok", "name": "x", "url": "https://www.example.org/", "id": 5},
    ):
        r = await a.api("POST", "/api/v1/admin/appointments", json=payload)
        assert r.status_code == 422, payload
    r = await a.api("PATCH", "/api/v1/admin/appointments/second-opinion", json={"key": "renamed"})
    assert r.status_code == 422  # the key cannot change: templates refer to it
    r = await a.api(
        "PATCH",
        "/api/v1/admin/appointments/second-opinion",
        json={"url": "//evil.example/%2f.."},
    )
    assert r.status_code == 422
    r = await a.api(
        "PATCH",
        "/api/v1/admin/appointments/second-opinion",
        json={"url": "https://www.example.org/second-opinions"},
    )
    assert r.status_code == 200 and r.json()["url"] == "https://www.example.org/second-opinions"
    # used by a template: the admin sees it before deleting
    mod = await make_client(admin)  # admins hold every moderator right too
    r = await mod.api(
        "POST",
        "/api/v1/canned-responses",
        json={"title": "Second opinion", "body": "{appointment:second-opinion}"},
    )
    assert r.status_code == 201
    listed = {d["key"]: d for d in (await a.get("/api/v1/admin/appointments")).json()}
    assert listed["second-opinion"]["used_by"] == ["Second opinion"]
    assert listed["request"]["used_by"] == ["Request an appointment"]
    # in use: refused, naming the response; once it is retired, the link can go
    r = await a.api("DELETE", "/api/v1/admin/appointments/second-opinion")
    assert r.status_code == 409 and "Second opinion" in r.json()["detail"]
    canned_id = next(
        c["id"]
        for c in (await mod.get("/api/v1/canned-responses")).json()
        if c["title"] == "Second opinion"
    )
    assert (await mod.api("DELETE", f"/api/v1/canned-responses/{canned_id}")).status_code < 300
    assert (await a.api("DELETE", "/api/v1/admin/appointments/second-opinion")).status_code == 204
    assert (await a.api("DELETE", "/api/v1/admin/appointments/second-opinion")).status_code == 404
    assert (
        await session.scalar(
            select(AppointmentDestination).where(AppointmentDestination.key == "second-opinion")
        )
        is None
    )

    entries = (
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_type == "appointment")
            .order_by(AuditEntry.id)
        )
    ).all()
    assert [e.action for e in entries] == [
        "create_appointment",
        "update_appointment",
        "delete_appointment",
    ]
    assert entries[0].target_label == "second-opinion: https://www.example.org/second-opinion"
    assert entries[1].reason == (
        "url: https://www.example.org/second-opinion → https://www.example.org/second-opinions"
    )
    assert all(e.actor_name == admin.username for e in entries)


async def test_settings_page_forms(make_client, admin, session):
    a = await make_client(admin)
    page = await a.get("/admin/appointments")
    assert page.status_code == 200
    assert 'href="https://www.mayoclinic.org/appointments"' in page.text
    assert "Request an appointment" in page.text  # the template using it
    r = await a.form(
        "/admin/appointments",
        {"key": "video", "name": "Video visits", "url": "javascript:alert(1)"},
    )
    assert r.status_code == 422
    assert "must be a secure web address starting with https://" in r.text
    assert 'aria-invalid="true" aria-describedby="url-error"' in r.text
    assert 'href="javascript' not in r.text
    r = await a.form(
        "/admin/appointments",
        {"key": "request", "name": "Duplicate", "url": "https://www.example.org/"},
    )
    assert r.status_code == 422 and "already an appointment link with the key" in r.text
    r = await a.form(
        "/admin/appointments",
        {"key": "video", "name": "Video visits", "url": "https://www.example.org/video"},
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/appointments?notice=appointment-saved"
    page = await a.get("/admin/appointments/video/edit")
    assert page.status_code == 200 and "https://www.example.org/video" in page.text
    r = await a.form(
        "/admin/appointments/video/edit",
        {"name": "Video visits", "url": "https://www.example.org@evil.example/", "description": ""},
    )
    assert r.status_code == 422 and "must not contain a user name or password" in r.text
    r = await a.form(
        "/admin/appointments/video/edit",
        {
            "name": "Video and phone visits",
            "url": "https://www.example.org/video",
            "description": "",
        },
    )
    assert r.status_code == 303
    row = await session.scalar(
        select(AppointmentDestination).where(AppointmentDestination.key == "video")
    )
    assert row is not None and row.name == "Video and phone visits"
    r = await a.form("/admin/appointments/video/delete")
    assert r.status_code == 303
    assert (await a.get("/admin/appointments/video/edit")).status_code == 404
    assert (await a.get("/admin/appointments/" + "x" * 41 + "/edit")).status_code in (404, 422)
