"""Storage URL rules that ``search`` (which writes) and ``report`` (which reads) share.

A URL can carry a secret in two places: ``user:password@`` and query parameters such
as ``?password=...`` (libpq and PyMySQL read both). :func:`redact` hides both, and every
message, banner, export and stored attribute shows a URL only through it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import URL, make_url

from ..errors import UserError

__all__ = ["redact", "scrub", "sqlite_file", "refuse_ephemeral", "require_existing", "driver_hint", "SECRET_QUERY_KEYS"]

# Query parameters that carry a secret (libpq: password, sslpassword; PyMySQL: passwd; others: token...).
SECRET_QUERY_KEYS = ("password", "passwd", "pwd", "sslpassword", "secret", "token", "api_key", "apikey", "access_token", "auth")
_HIDDEN = "***"

# Driver modules SQLAlchemy imports, and the package that provides each.
_DRIVER_PACKAGES = {
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
    "pymysql": "PyMySQL",
    "MySQLdb": "mysqlclient",
    "mysql": "mysql-connector-python",
    "asyncpg": "asyncpg",
    "pg8000": "pg8000",
}


def _is_secret(key: str) -> bool:
    key = key.lower()
    return key in SECRET_QUERY_KEYS or "password" in key or "secret" in key or "token" in key


def _secrets(url: URL) -> list[str]:
    values = [url.password] if url.password else []
    for key, value in url.query.items():
        if _is_secret(key):
            values += [value] if isinstance(value, str) else list(value)
    return [str(v) for v in values if v]


def redact(url: str) -> str:
    """The URL with its password and any secret query parameter replaced by ``***``."""
    try:
        parsed = make_url(url)
        if not any(_is_secret(k) for k in parsed.query):
            return parsed.render_as_string(hide_password=True)
        base = parsed.set(query={}).render_as_string(hide_password=True)
        pairs = [
            f"{quote(k, safe='')}={_HIDDEN if _is_secret(k) else quote(str(v), safe='')}"
            for k, values in parsed.query.items()
            for v in ([values] if isinstance(values, str) else values)
        ]
        return f"{base}?{'&'.join(pairs)}"
    except Exception:  # not even parseable: show no part of it that could hold a secret
        return url.split("://", 1)[0] + "://..." if "://" in url else "<storage URL>"


def scrub(text: str, url: str | URL) -> str:
    """``text`` (a driver's error, say) with every secret of ``url`` replaced by ``***``."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception:  # an unparseable URL: hide what looks like one
        return text if not isinstance(url, str) or url not in text else text.replace(url, redact(url))
    for secret in sorted(_secrets(parsed), key=len, reverse=True):
        text = text.replace(secret, _HIDDEN).replace(quote(secret, safe=""), _HIDDEN)
    return text


def sqlite_file(url: URL) -> str | None:
    """The file a SQLite URL names, or None for one that lives only in memory."""
    db = url.database or ""
    if url.get_backend_name() != "sqlite":
        return None
    if db in ("", ":memory:") or url.query.get("mode") == "memory" or "mode=memory" in db:
        return None
    return db[len("file:") :] if db.startswith("file:") else db


def refuse_ephemeral(url: URL, shown: str) -> None:
    """A SQLite database in memory cannot be shared by workers and is lost when the process ends."""
    if url.get_backend_name() == "sqlite" and sqlite_file(url) is None:
        raise UserError(
            f"storage {shown} lives only in this process's memory: workers cannot share it and its results "
            "would be lost; use a file, e.g. sqlite:///studies.db"
        )


def require_existing(url: URL, shown: str) -> None:
    """A reader or a joining worker must not create an empty SQLite file where a study was expected."""
    path = sqlite_file(url)
    if path is not None and not Path(path).is_file():
        what = "is a folder" if Path(path).is_dir() else "does not exist"
        raise UserError(f"no study database at {shown}: {path} {what}; create it with `unitsearch run`, or check --storage")


def driver_hint(module: str | None, shown: str) -> str:
    """One line naming the package that provides a missing database driver."""
    top = (module or "").split(".")[0]
    package = _DRIVER_PACKAGES.get(top, top or "the database driver")
    return f"the driver for {shown} is not installed (module {top or '?'!r}); pip install '{package}'"
