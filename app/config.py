"""Settings: the only place KINDRED_* environment variables are read.

Nothing reads settings at import time; the app factory and the CLI call `get_settings()`.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "dev", "development", "kindred"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KINDRED_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    var_dir: Path = Path("var")
    database_url: str = ""
    db_pool_size: int = Field(default=0, ge=0, description="0 picks a default per database")
    # PostgreSQL: connections per server process for the hot reads made outside a
    # transaction (app/core/rows.py), on top of the pool
    db_reader_connections: int = Field(default=4, ge=1, le=100)
    secret_key: SecretStr | None = None
    base_url: str = "http://127.0.0.1:8000"
    site_name: str = "Kindred"

    session_idle_days: int = Field(default=14, ge=1)
    session_absolute_days: int = Field(default=60, ge=1)
    session_touch_seconds: int = Field(default=600, ge=1)
    api_token_days: int = Field(default=90, ge=1)

    redis_url: str = ""
    rate_limits_enabled: bool = True
    # `limits` notation; several rules separated by ";"
    rate_limit_login_ip: str = "30/minute;300/hour"
    rate_limit_login_user: str = "10/15minutes"
    rate_limit_register_ip: str = "5/hour"
    rate_limit_post_user: str = "6/minute;120/day"
    rate_limit_flag_user: str = "10/hour;30/day"
    rate_limit_edit_user: str = "6/minute;120/day"
    # wrong current passwords (password change, e-mail change) per member
    rate_limit_password_user: str = "5/15minutes"  # noqa: S105 (a rate, not a password)
    # the "did you mean" page after posting renders the post again
    rate_limit_render_user: str = "30/minute"
    # registration and password-reset answers take this long whatever they found
    # (app/core/timing.py)
    uniform_answer_seconds: float = Field(default=0.25, ge=0, le=5)
    # proxies whose X-Forwarded-For is believed: addresses or networks, comma-separated
    # ("" believes nobody, and the connecting peer is the client)
    trusted_proxies: str = ""
    # concurrent live-update streams (app/live/stream_limits.py)
    live_streams_per_address: int = Field(default=20, ge=1)
    live_streams_per_member: int = Field(default=5, ge=1)

    # -- e-mail (app/notifications/mailer.py, worker.py) --
    # No SMTP host: messages are written as .eml files under var_dir/mail instead.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_tls: bool = False  # implicit TLS from the first byte (usually port 465)
    # STARTTLS: None uses it when the server offers it; True requires it; False never
    smtp_starttls: bool | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = ""  # "" means "<site_name> <no-reply@host of base_url>"
    # the outbox worker: inside the server process by default; `kindred worker` in production
    email_worker_in_process: bool = True
    email_worker_poll_seconds: float = Field(default=5.0, gt=0)
    email_worker_batch_size: int = Field(default=20, ge=1, le=500)
    email_lease_seconds: int = Field(default=300, ge=10)
    email_max_attempts: int = Field(default=8, ge=1)
    email_retry_base_seconds: float = Field(default=30.0, gt=0)
    email_batch_minutes: int = Field(default=15, ge=0)
    email_digest_hour_utc: int = Field(default=7, ge=0, le=23)
    email_verification_days: int = Field(default=7, ge=1)
    password_reset_minutes: int = Field(default=60, ge=5, le=60)
    rate_limit_email_ip: str = "10/hour"
    rate_limit_export_user: str = "3/hour;10/day"

    # -- the page cache for visitors (app/cache) --
    # rendered pages kept per server process; 0 turns the cache off (writes are still
    # announced to the other processes). Pages are kept gzip-compressed: a discussion
    # page of 20 replies renders to 28 KB and is kept in 6.3 KB (4.7 KB of gzip, the rest
    # its headers and objects), so the byte bound, not this one, is what usually binds;
    # this one only stops a flood of small pages (empty searches of the library) from
    # making many thousands of tiny entries. 10,000 leaves room for the bench's 5,000
    # discussion pages and every group, profile and library page beside them.
    page_cache_entries: int = Field(default=10_000, ge=0)
    # bytes kept per process, counted as kept (compressed body, own headers, overhead):
    # the bound that keeps a worker under 150 MB with the cache full. A worker is 108 MB
    # once it has served pages (imports and app: /proc VmRSS), and each byte counted here
    # grows it by about one; 33 MB holds 5,000 discussion pages of 20 replies (31.7 MB)
    # with room for the others, and leaves the allocator's slack and the other pages'
    # work (search, replies) below 150 MB: with 36 MB and pages kept at gzip level 1
    # (34 MB for the 5,000) the bench's workers reached exactly 150 MB. (Before
    # compression, 32 MB held 1,200 discussion pages and a worker reached 162 MB.)
    page_cache_bytes: int = Field(default=33_000_000, ge=100_000)
    # the longest a page is kept even when nothing changes ("5 minutes ago" stays true)
    page_cache_seconds: float = Field(default=60.0, gt=0, le=3600)
    # how writes reach the other hosts: "auto" is Redis when redis_url is set, else
    # PostgreSQL LISTEN/NOTIFY on PostgreSQL, else "local" (the processes of one host,
    # which a shared file in var_dir reaches in any case)
    page_cache_fanout: Literal["auto", "local", "redis", "postgres"] = "auto"

    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    discussion_page_size: int = Field(default=20, ge=1, le=200)
    group_page_size: int = Field(default=25, ge=1, le=200)

    # the site's own emergency line, shown with the crisis resources (app/safety/crisis.py)
    crisis_line_name: str = ""
    crisis_line_phone: str = ""

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.env == "production":
            key = self.secret_key.get_secret_value() if self.secret_key else ""
            if len(key) < 32 or key.lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    "KINDRED_SECRET_KEY must be set to a random value of 32+ characters "
                    "in production (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
            if not self.database_url:
                raise ValueError("KINDRED_DATABASE_URL must be set in production")
        return self

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def cookie_secure(self) -> bool:
        # Local development is served over plain http on loopback; everywhere else cookies
        # travel only over TLS.
        return self.env == "production"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'kindred.db').as_posix()}"

    def resolved_secret_key(self) -> str:
        """The signing key; outside production a random one is kept in var/ so restarts
        do not sign everybody out."""
        if self.secret_key:
            return self.secret_key.get_secret_value()
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
