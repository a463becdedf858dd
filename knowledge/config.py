"""Settings, read once from the environment at the entry point and passed down explicitly."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from knowledge.embedder import BUNDLED_MODEL
from knowledge.errors import KnowledgeError


MAX_FILE_MB = 5  # a larger Markdown file is skipped: at 50 MB one file took the indexer to 5.7 GB


class SettingsError(KnowledgeError):
    """An environment variable has a value we cannot use; the message names it."""


def _whole(env: Mapping[str, str], var: str, low: int) -> int:
    value = env[var].strip()
    if not value.isdigit() or int(value) < low:
        raise SettingsError(f"{var} must be a whole number of at least {low}, not {value!r}")
    return int(value)


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,30}")


def scheme_of(url: str) -> str:
    """A URL's scheme, quoted, for an error message; never the rest, which may hold a password."""
    scheme = url.split(":", 1)[0] if ":" in url else ""
    return repr(scheme) if _SCHEME.fullmatch(scheme) else "a value without one"


@dataclass(frozen=True)
class Settings:
    source: Path = Path("knowledge_base")
    index_dir: Path = Path("index")
    state_db: Path = Path("state.db")
    database_url: str | None = field(default=None, repr=False)  # PostgreSQL for the state; overrides state_db
    base_url: str | None = None
    model: str = BUNDLED_MODEL
    coordinators: tuple[str, ...] = ()
    coordinator_group: str | None = None  # a Slack user group id (S...) whose members are coordinators
    experts_channel: str | None = None  # where *Ask an expert* posts questions (a channel id, C...)
    nudges: bool = True  # weekly DMs to document owners (owner_slack) listing their stale documents
    followup_minutes: int = 10  # a DM within this long of the last one may follow up on it
    stale_days: int = 180  # a document not reviewed for longer is "stale" on the dashboard and in the digest
    retention_days: int | None = None  # question texts older than this are deleted (counts stay)
    max_file_mb: int = MAX_FILE_MB  # the indexer skips (and reports) a larger file
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str | None = None
    port: int | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        """Build settings from KB_* / SLACK_* / PORT variables; unset ones keep their defaults."""
        env = {k: v for k, v in environ.items() if v != ""}
        values: dict = {}
        paths = {"KB_SOURCE": "source", "KB_INDEX_DIR": "index_dir", "KB_STATE_DB": "state_db"}
        for var, name in paths.items():
            if var in env:
                values[name] = Path(env[var])
        plain = {
            "KB_BASE_URL": "base_url",
            "KB_MODEL": "model",
            "KB_COORDINATOR_GROUP": "coordinator_group",
            "KB_EXPERTS_CHANNEL": "experts_channel",
            "SLACK_BOT_TOKEN": "slack_bot_token",
            "SLACK_SIGNING_SECRET": "slack_signing_secret",
            "SLACK_APP_TOKEN": "slack_app_token",
            "SLACK_API_URL": "slack_api_url",
            "DATABASE_URL": "database_url",
        }
        for var, name in plain.items():
            if var in env:
                values[name] = env[var]
        if "KB_COORDINATORS" in env:
            values["coordinators"] = tuple(u.strip() for u in env["KB_COORDINATORS"].split(",") if u.strip())
        numbers = {
            "KB_STALE_DAYS": ("stale_days", 1), "KB_RETENTION_DAYS": ("retention_days", 1),
            "KB_MAX_FILE_MB": ("max_file_mb", 1), "PORT": ("port", 0), "KB_FOLLOWUP_MINUTES": ("followup_minutes", 0),
        }
        for var, (name, low) in numbers.items():
            if var in env:
                values[name] = _whole(env, var, low)
        if "KB_NUDGES" in env:
            flag = env["KB_NUDGES"].strip().lower()
            if flag not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
                raise SettingsError(f"KB_NUDGES must be on or off, not {env['KB_NUDGES']!r}")
            values["nudges"] = flag in ("on", "true", "1", "yes")
        url = values.get("database_url", "postgres://")
        if not url.startswith(("postgres://", "postgresql://")):  # named by its scheme only: the rest may hold a password
            raise SettingsError(f"DATABASE_URL must start with postgres:// or postgresql://, not {scheme_of(url)}")
        return cls(**values)

    def with_overrides(self, **overrides) -> "Settings":
        """A copy with the given fields replaced; None means 'keep what the environment said'."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})
