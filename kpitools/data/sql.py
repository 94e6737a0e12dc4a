"""Database sources: `url:` with `sql:` (a query) or `table:` (a table name), through SQLAlchemy.

    tables:
      deals:
        url: postgresql+psycopg://kpitools:${PGPASSWORD}@db.example.com/sales
        sql: SELECT * FROM crm.opportunities WHERE pipeline = 'Sales'

`${NAME}` is read from the environment when the table is loaded; the URL shown in
problems, logs and manifests is the one written in the config (a password written
out in it replaced by ***; a `${NAME}` reference shown as it is). A relative SQLite path is relative to
the config file, like `path:`. Problems in a table read from a database name its rows by their
1-based position in the query's result.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from ..masking import MASK, is_secret_name
from .config import ENV_VAR, TableConfig, interpolate, missing_env
from .problems import DataError, Problem

CONNECT_TIMEOUT_S = 10
ROWS_NOTE = "rows are result rows, from 1"


_failed: dict[str, str] | None = None  # during one load: URL -> the table whose connection failed


@contextmanager
def session() -> Iterator[None]:
    """One dataset load: a server that refused one table is not asked again for the next ones
    (each attempt may wait for the connect timeout)."""
    global _failed
    outer = _failed
    _failed = {} if outer is None else outer
    try:
        yield
    finally:
        _failed = outer


def _url_module():
    try:
        import sqlalchemy
        from sqlalchemy.engine import make_url
    except ImportError:  # a dependency, but a broken install should still read well
        raise DataError([Problem("SQLAlchemy is not installed", hint="pip install sqlalchemy")]) from None
    return sqlalchemy, make_url


def display_url(template: str) -> str:
    """The URL as written in the config, password masked (also one that came from `${...}`)."""
    _, make_url = _url_module()
    try:
        url = make_url(template)
    except Exception:  # noqa: BLE001  an unparseable URL: show only its scheme, it may hold a secret
        return template.split("://", 1)[0] + "://..." if "://" in template else "(unparseable url)"
    if url.query:
        url = url.set(query={k: (MASK if is_secret_name(k) else v) for k, v in url.query.items()})
    shown = url.render_as_string(hide_password=True)
    if url.password is not None and ENV_VAR.fullmatch(str(url.password)):  # ${PGPASSWORD}: no secret, and says
        shown = shown.replace(":***@", f":{url.password}@", 1)             # where the password comes from
    return shown


def resolve_url(template: str, table: str, base: Path | None):
    """The SQLAlchemy URL to connect to: `${NAME}` filled in per component (a password with @ or /
    needs no escaping), a relative SQLite file made relative to `base`."""
    _, make_url = _url_module()
    shown = display_url(template)
    missing = missing_env(template)
    if missing:
        raise DataError([Problem(f"the url uses ${{{missing[0]}}}, but the environment variable {missing[0]} is "
                                 "not set", file=shown, table=table,
                                 hint=f"set it before running kpitools, e.g. `export {missing[0]}=...`")])
    try:
        parsed = make_url(template)
        fill = {k: interpolate(v) for k in ("username", "password", "host", "database")
                if isinstance(v := getattr(parsed, k), str)}
        url = parsed.set(**fill)
        if parsed.query:
            url = url.set(query={k: (interpolate(v) if isinstance(v, str) else tuple(map(interpolate, v)))
                                 for k, v in parsed.query.items()})
    except Exception:  # noqa: BLE001  e.g. ${PORT} as the port: fill the text first, then parse
        try:
            url = make_url(interpolate(template))
        except Exception as e:  # noqa: BLE001
            raise DataError([Problem(f"not a database URL ({type(e).__name__})", file=shown, table=table,
                                     hint="write it as dialect+driver://user:password@host:port/database, e.g. "
                                          "postgresql+psycopg://me:${PGPASSWORD}@localhost/sales or "
                                          "sqlite:///sales.db")]) from None
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        db = Path(url.database).expanduser()
        if not db.is_absolute() and base is not None:
            db = (base / db).resolve()
        if not db.is_file():  # sqlite would quietly create an empty database
            raise DataError([Problem("database file not found", file=str(db), table=table,
                                     hint="check the path in `url: sqlite:///...` (relative paths are relative "
                                          "to the config file; sqlite:////abs/path for an absolute one)")])
        url = url.set(database=str(db))
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query \
            and url.get_driver_name() in ("psycopg", "psycopg2"):
        url = url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_S)})
    return url


def _scrub(text: str, url) -> str:  # noqa: ANN001
    """An error message without the password, whatever the driver put in it."""
    if url.password:
        text = text.replace(str(url.password), "***")
    return text


def _first_line(e: BaseException) -> str:
    """The first line of the driver's own message (pandas and SQLAlchemy wrap it)."""
    orig = e
    for _ in range(5):
        inner = getattr(orig, "orig", None) or orig.__cause__
        if inner is None or inner is orig:
            break
        orig = inner
    lines = [ln.strip() for ln in str(orig).strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(orig).__name__


def _where(url) -> str:  # noqa: ANN001
    if url.get_backend_name() == "sqlite":
        return f"database {url.database}"
    port = url.port or {"postgresql": 5432, "mysql": 3306, "mssql": 1433}.get(url.get_backend_name(), "default")
    return f"host {url.host or 'localhost'}, port {port}, database {url.database or '(default)'}" + (
        f", user {url.username}" if url.username else "")


def read_sql(table: str, cfg: TableConfig, base: Path | None = None) -> tuple[pd.DataFrame, int, str]:
    """Read one table from a database; returns (raw frame, 1, display name)."""
    sa, _ = _url_module()
    assert cfg.url
    what = f"table {cfg.table}" if cfg.table else "query"
    shown = f"{display_url(cfg.url)} ({what}; {ROWS_NOTE})"
    url = resolve_url(cfg.url, table, base)
    try:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)  # no pool: nothing left open
    except Exception as e:  # noqa: BLE001  unknown dialect, driver not installed
        name = type(e).__name__
        hint = ("install the driver (PostgreSQL: pip install 'psycopg[binary]'; MySQL: pip install pymysql) "
                "and name it in the URL, e.g. postgresql+psycopg://" if "NoSuchModule" in name or
                isinstance(e, ImportError) else "check the URL's dialect+driver:// part")
        raise DataError([Problem(f"cannot use this database URL: {_scrub(_first_line(e), url)}", file=shown,
                                 table=table, hint=hint)]) from None
    key = url.render_as_string(hide_password=False)  # in memory only
    if _failed is not None and key in _failed:
        engine.dispose()
        raise DataError([Problem(f"not read: the connection to {_where(url)} failed (see table {_failed[key]})",
                                 file=shown, table=table, hint="fix the connection, then load again")])
    try:
        try:
            conn = engine.connect()
        except Exception as e:  # noqa: BLE001  DBAPI errors differ per driver
            if _failed is not None:
                _failed[key] = table
            raise DataError([Problem(f"cannot connect to {_where(url)}: {_scrub(_first_line(e), url)}",
                                     file=shown, table=table,
                                     hint="check that the server runs and the host, port, database, user and "
                                          "password (e.g. ${PGPASSWORD} in the url) are right")]) from None
        with conn:
            if cfg.table:
                schema, _, name = cfg.table.rpartition(".")
                stmt = sa.select(sa.text("*")).select_from(sa.table(name, schema=schema or None))
                first = f"SELECT * FROM {cfg.table}"
            else:
                stmt = sa.text(cfg.sql or "")
                first = next((ln.strip() for ln in (cfg.sql or "").splitlines() if ln.strip()), "")
            try:
                df = pd.read_sql_query(stmt, conn)
            except Exception as e:  # noqa: BLE001
                hint = (f"check that table {cfg.table!r} exists (schema.table for another schema)" if cfg.table
                        else "run the query in your database client to see what is wrong")
                raise DataError([Problem(f"the query failed: {_scrub(_first_line(e), url)} (query: {first[:120]})",
                                         file=shown, table=table, hint=hint)]) from None
    finally:
        engine.dispose()
    df.columns = [str(c).strip() for c in df.columns]
    return df, 1, shown
