"""Configuration: every setting comes from an ECABINET_* variable, with safe laptop defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent / "instance"


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the server refuses to start."""


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key(data_dir: Path, production: bool) -> tuple[str, bool]:
    """Return (key, generated). Outside production a generated key is kept in the data dir."""
    configured = os.environ.get("ECABINET_SECRET_KEY")
    if configured:
        return configured, False
    if production:
        return "", True
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip(), True
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key, True


class Config:
    """Settings read from the environment when the app is created."""

    def __init__(self) -> None:
        self.ENV_NAME = os.environ.get("ECABINET_ENV", "development")
        self.PRODUCTION = self.ENV_NAME == "production"
        self.DATA_DIR = Path(os.environ.get("ECABINET_DATA_DIR", str(INSTANCE_DIR))).resolve()
        self.SQLALCHEMY_DATABASE_URI = os.environ.get(
            "ECABINET_DATABASE_URL", f"sqlite:///{self.DATA_DIR / 'ecabinet.sqlite'}"
        )
        self.SECRET_KEY, self.SECRET_KEY_GENERATED = _secret_key(self.DATA_DIR, self.PRODUCTION)
        self.MESSAGE_QUEUE = os.environ.get("ECABINET_MESSAGE_QUEUE") or None
        # Redis pub/sub ignores the database number: deployments sharing one Redis need their own channel
        self.MESSAGE_QUEUE_CHANNEL = os.environ.get("ECABINET_MESSAGE_QUEUE_CHANNEL", "ecabinet")
        self.TSA_URL = os.environ.get("ECABINET_TSA_URL") or None
        #: seconds a valid login is remembered in one process (ecabinet/auth/loader.py): the longest a
        #: change made without the app (SQL by hand) goes unseen; the app's own changes are forgotten at
        #: once, in every process through the message queue (ecabinet/auth/login_bus.py)
        self.AUTH_CACHE_SECONDS = float(os.environ.get("ECABINET_AUTH_CACHE_SECONDS", "2"))
        self.DEBUG = _env_bool("ECABINET_DEBUG")
        self.PUBLIC_URL = os.environ.get("ECABINET_PUBLIC_URL", "http://127.0.0.1:5000")
        # Socket.IO handshakes are accepted only from these origins (never "*").
        self.ALLOWED_ORIGINS = _env_list("ECABINET_ALLOWED_ORIGINS") or [self.PUBLIC_URL]
        self.MAX_UPLOAD_MB = int(os.environ.get("ECABINET_MAX_UPLOAD_MB", "100"))
        self.MAX_CONTENT_LENGTH = self.MAX_UPLOAD_MB * 1024 * 1024 + 1024 * 1024
        #: any request body but a dossier upload (JSON, forms): refused (413) past it before it is read
        self.MAX_JSON_BYTES = int(os.environ.get("ECABINET_MAX_JSON_KB", "1024")) * 1024
        #: refusals of callers not logged in are counted, one audit record per window (ecabinet.security)
        self.REFUSAL_AUDIT_SECONDS = float(os.environ.get("ECABINET_REFUSAL_AUDIT_SECONDS", "60"))
        self.TOKEN_TTL_HOURS = int(os.environ.get("ECABINET_TOKEN_TTL_HOURS", "12"))
        self.RATELIMIT_LOGIN = os.environ.get("ECABINET_RATELIMIT_LOGIN", "10 per minute;100 per hour")
        #: roles that cannot use the system until a second factor is set up (none by default off production,
        #: so the demo's logins keep working)
        self.MFA_REQUIRED_ROLES = _env_list("ECABINET_MFA_REQUIRED_ROLES",
                                            "secretary,admin" if self.PRODUCTION else "")
        #: what needs a second person's approval (ecabinet/auth/approvals.py); none by default off production
        self.FOUR_EYES = _env_list("ECABINET_FOUR_EYES", "clearance.raise,role.secretary,role.admin,office_key.revoke,"
                                   "notice.issue" if self.PRODUCTION else "")
        #: single sign-on (OpenID Connect, ecabinet/auth/oidc.py); off while no issuer is set
        self.OIDC_ISSUER = os.environ.get("ECABINET_OIDC_ISSUER", "").strip()
        self.OIDC_CLIENT_ID = os.environ.get("ECABINET_OIDC_CLIENT_ID", "")
        self.OIDC_CLIENT_SECRET = os.environ.get("ECABINET_OIDC_CLIENT_SECRET", "")
        #: the claim whose value is an account's username
        self.OIDC_USERNAME_CLAIM = os.environ.get("ECABINET_OIDC_USERNAME_CLAIM", "preferred_username")
        #: the provider's name on the login page's button ("Log in with ...")
        self.OIDC_PROVIDER_NAME = os.environ.get("ECABINET_OIDC_PROVIDER_NAME", "").strip() or "SSO"
        #: a person the provider vouches for who has no account here gets a guest account (else refused)
        self.OIDC_CREATE_ACCOUNTS = _env_bool("ECABINET_OIDC_CREATE_ACCOUNTS", False)
        self.PIN_ATTEMPTS = int(os.environ.get("ECABINET_PIN_ATTEMPTS", "5"))
        #: how long a key unlocked by a correct PIN is held in memory for the next answers (0: never)
        self.SIGNING_SESSION_SECONDS = int(os.environ.get("ECABINET_SIGNING_SESSION_SECONDS", "900"))
        #: how a member who did not answer counts in a ballot's tally: not_counted | agree
        self.BALLOT_NON_ANSWER_POLICY = os.environ.get("ECABINET_BALLOT_NON_ANSWER_POLICY", "not_counted")
        #: whether an approved delegate present votes for the absent member it stands in for (default: never)
        self.DELEGATES_VOTE = _env_bool("ECABINET_DELEGATES_VOTE", False)
        #: PEM files of further trusted roots (e.g. the Government Cipher Committee's CA)
        self.TRUSTED_ROOTS_DIR = os.environ.get("ECABINET_TRUSTED_ROOTS_DIR") or str(self.DATA_DIR / "trusted_roots")
        # reverse proxies in front of the app whose X-Forwarded-* headers are trusted (nginx: 1)
        self.PROXY_COUNT = int(os.environ.get("ECABINET_PROXY_COUNT", "0"))
        #: database connections each process keeps open: at least the requests it serves at once. Past
        #: it, every request opened and closed a connection of its own (on PostgreSQL a new server
        #: process each time): 27 tablets reading dossiers through two processes spent a third of
        #: the servers' CPU on that (docs/PERFORMANCE.md). Mind PostgreSQL's max_connections (100):
        #: processes × (size + DB_POOL_OVERFLOW) must stay below it.
        #: where mail goes: smtp://[user:password@]host[:port][?starttls=true] or smtps://...; unset: no mail
        self.SMTP_URL = os.environ.get("ECABINET_SMTP_URL") or None
        self.MAIL_FROM = os.environ.get("ECABINET_MAIL_FROM", "e-Cabinet <no-reply@localhost>")
        #: the CA certificates (PEM) that vouch for the mail server over smtps:// or STARTTLS, for a mail server
        #: certified by the government's own CA; unset: the system's trusted CAs
        self.SMTP_CA_FILE = os.environ.get("ECABINET_SMTP_CA_FILE") or None
        #: a mail the SMTP server did not take is retried after this many seconds, doubled each time ...
        self.MAIL_RETRY_SECONDS = float(os.environ.get("ECABINET_MAIL_RETRY_SECONDS", "60"))
        #: ... until this many attempts, then it stays failed (with why) on the secretariat's outbox page
        self.MAIL_MAX_ATTEMPTS = int(os.environ.get("ECABINET_MAIL_MAX_ATTEMPTS", "6"))
        self.MAIL_TIMEOUT_SECONDS = float(os.environ.get("ECABINET_MAIL_TIMEOUT_SECONDS", "20"))
        #: mails a worker claims at once and sends over one connection
        self.MAIL_BATCH = int(os.environ.get("ECABINET_MAIL_BATCH", "20"))
        #: the outbox worker looks for due mail this often (a commit wakes it at once in its own process)
        self.MAIL_POLL_SECONDS = float(os.environ.get("ECABINET_MAIL_POLL_SECONDS", "5"))
        #: time-based notifications (ballot reminders, tasks due soon or overdue) are looked for this often
        self.NOTIFY_SWEEP_SECONDS = float(os.environ.get("ECABINET_NOTIFY_SWEEP_SECONDS", "60"))
        self.DB_POOL_SIZE = int(os.environ.get("ECABINET_DB_POOL_SIZE", "20"))
        self.DB_POOL_OVERFLOW = int(os.environ.get("ECABINET_DB_POOL_OVERFLOW", "10"))

        self.SESSION_COOKIE_NAME = "__Host-ecabinet" if self.PRODUCTION else "ecabinet_session"
        self.SESSION_COOKIE_SECURE = self.PRODUCTION
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.WTF_CSRF_CHECK_DEFAULT = False  # ecabinet.security decides which requests need it
        self.WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the server-side session
        self.RATELIMIT_STORAGE_URI = self.MESSAGE_QUEUE or "memory://"
        self.RATELIMIT_HEADERS_ENABLED = True
        self.BABEL_DEFAULT_LOCALE = "vi"
        self.BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
        self.BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).resolve().parent / "ecabinet" / "translations")
        self.SPEC_FORMAT = "json"

    @property
    def SQLALCHEMY_ENGINE_OPTIONS(self) -> dict[str, object]:  # noqa: N802  (a setting's name)
        # a pooled PostgreSQL connection is checked before use (its server may have restarted); a SQLite
        # file cannot go away under its connection, so the check was a query on every request for nothing
        return {"pool_pre_ping": not self.SQLALCHEMY_DATABASE_URI.startswith("sqlite"),
                "pool_size": self.DB_POOL_SIZE, "max_overflow": self.DB_POOL_OVERFLOW}

    def validate(self) -> None:
        """Refuse a mail address the app cannot use, and production on defaults only safe on a laptop."""
        if self.SMTP_URL and not self.SMTP_URL.startswith(("smtp://", "smtps://")):
            raise ConfigError("ECABINET_SMTP_URL must be smtp://host[:port] or smtps://host[:port]")
        if self.SMTP_CA_FILE and not os.path.isfile(self.SMTP_CA_FILE):
            raise ConfigError(f"ECABINET_SMTP_CA_FILE {self.SMTP_CA_FILE} is not a file")
        if not self.PRODUCTION:
            return
        problems = []
        if self.SECRET_KEY_GENERATED or len(self.SECRET_KEY) < 32:
            problems.append("ECABINET_SECRET_KEY must be set (32+ characters) in production")
        if self.DEBUG:
            problems.append("ECABINET_DEBUG must be off in production")
        if any(origin == "*" for origin in self.ALLOWED_ORIGINS):
            problems.append("ECABINET_ALLOWED_ORIGINS must list origins, never '*'")
        if self.OIDC_ISSUER and not (self.OIDC_ISSUER.startswith("https://") and self.OIDC_CLIENT_ID
                                     and self.OIDC_CLIENT_SECRET):
            problems.append("ECABINET_OIDC_ISSUER must be https:// and come with ECABINET_OIDC_CLIENT_ID and "
                            "ECABINET_OIDC_CLIENT_SECRET")
        if problems:
            raise ConfigError("; ".join(problems))


class TestingConfig(Config):
    """Configuration for the test suite: a throw-away data dir and database per test app."""

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        os.environ.setdefault("ECABINET_ENV", "development")
        previous = os.environ.get("ECABINET_DATA_DIR")
        os.environ["ECABINET_DATA_DIR"] = str(data_dir)
        try:
            super().__init__()
        finally:
            if previous is None:
                del os.environ["ECABINET_DATA_DIR"]
            else:
                os.environ["ECABINET_DATA_DIR"] = previous
        if database_url:
            self.SQLALCHEMY_DATABASE_URI = database_url
        self.TESTING = True
