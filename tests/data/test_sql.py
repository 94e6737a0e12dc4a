"""Database sources (`url:` + `table:`/`sql:`): a real SQLite file and a real PostgreSQL server.

The PostgreSQL tests need KPITOOLS_TEST_POSTGRES_URL (set by .ci/run, which installs and starts
the server), e.g. postgresql+psycopg://kpitools:${PGPASSWORD}@localhost/kpitools. Without it they
skip, unless KPITOOLS_REQUIRE_POSTGRES=1 (also set by .ci/run): then a missing server fails.
Each test run loads the small sample into a schema of its own and drops it afterwards.
"""
from __future__ import annotations

import io
import os
import sqlite3
import uuid
from pathlib import Path

import pandas as pd
import pytest
import yaml

import kpitools
from kpitools.cli import app
from kpitools.data import DataError
from kpitools.data.sample import generate, write_sample

SEED, MONTHS, END = 0, 36, "2026-06"
BATCH_NOTEBOOK = Path(__file__).parents[1] / "fixtures" / "batch" / "light.ipynb"


# --------------------------------------------------------------------------- helpers


def db_frames() -> dict[str, pd.DataFrame]:
    """The sample's tables as a database holds them: text, numbers, timestamps, booleans."""
    out = {}
    for name, df in generate(seed=SEED, months=MONTHS, end=END).items():
        df = df.copy()
        for c in df.columns:
            if isinstance(df[c].dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(df[c].dtype):
                df[c] = df[c].astype(object).where(df[c].notna(), None)
        out[name] = df
    return out


def write_config(folder: Path, url: str, tables: dict[str, str], name: str = "sql.yml") -> Path:
    """A copy of the CSV sample's dataset.yml whose tables come from `url` (value: table or SELECT)."""
    config = yaml.safe_load((folder / "dataset.yml").read_text())
    for table, source in tables.items():
        key = "sql" if source.lstrip().upper().startswith("SELECT") else "table"
        config["tables"][table] = {"url": url, key: source}
    path = folder / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def same_tables(a: kpitools.Dataset, b: kpitools.Dataset) -> None:
    """Equal tables whatever the row order (a database returns rows in any order without ORDER BY)."""
    assert set(a.tables) == set(b.tables)
    for name in a.tables:
        x, y = a.tables[name], b.tables[name]
        keys = list(x.columns)
        x = x.sort_values(keys, kind="stable").reset_index(drop=True)
        y = y.sort_values(keys, kind="stable").reset_index(drop=True)
        if not (x.dtypes.equals(y.dtypes) and x.equals(y)):  # equals is fast; assert_frame_equal explains
            pd.testing.assert_frame_equal(x, y, obj=name)


@pytest.fixture(scope="module")
def csv_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, kpitools.Dataset, pd.DataFrame]:
    """The CSV sample, loaded, and its whole catalogue by month: what every source must give."""
    folder = tmp_path_factory.mktemp("csv")
    config = write_sample(folder, seed=SEED, months=MONTHS, end=END)
    ds = kpitools.load(config)
    return folder, ds, kpitools.compute(ds)


# --------------------------------------------------------------------------- SQLite


@pytest.fixture(scope="module")
def sqlite_db(csv_sample) -> Path:
    folder = csv_sample[0]
    path = folder / "sample.db"
    with sqlite3.connect(path) as con:
        for name, df in db_frames().items():
            df.to_sql(name, con, index=False)
    con.close()
    return path


def test_sqlite_tables_and_queries_give_the_same_kpis_as_the_csv_sample(csv_sample, sqlite_db) -> None:
    folder, csv_ds, csv_kpis = csv_sample
    tables = {name: name for name in csv_ds.tables}
    tables["deals"] = "SELECT *\nFROM deals"  # one table through a query, the rest by name
    config = write_config(folder, "sqlite:///sample.db", tables)  # relative to the config's folder
    ds = kpitools.load(config)
    same_tables(ds, csv_ds)
    result = kpitools.compute(ds)
    assert len(result) > 10_000 and result["kpi"].nunique() > 50
    pd.testing.assert_frame_equal(result, csv_kpis)
    assert result.attrs == csv_kpis.attrs


def test_a_database_source_is_read_again_every_time(csv_sample, sqlite_db, tmp_path: Path) -> None:
    folder = csv_sample[0]
    db = tmp_path / "t.db"
    with sqlite3.connect(db) as con:
        db_frames()["deals"].to_sql("deals", con, index=False)
    con.close()
    config = write_config(folder, f"sqlite:///{db}", {"deals": "deals"}, name="again.yml")
    first = kpitools.load(config)
    with sqlite3.connect(db) as con:
        con.execute("DELETE FROM deals WHERE status = 'lost'")
    con.close()
    second = kpitools.load(config)  # no cache: the database may have changed, and here it has
    assert second is not first and len(second.deals) < len(first.deals)


def test_bad_values_name_the_result_row(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE opps (id TEXT, created TEXT, closed TEXT, stage TEXT, value TEXT)")
        con.executemany("INSERT INTO opps VALUES (?, ?, ?, ?, ?)", [
            ("A", "2024-01-03", "2024-01-20", "won", "100"),
            ("B", "2024-01-04", None, "open", "200"),
            ("C", "2024-01-05", "2024-02-01", "won", "lots"),
        ])
    con.close()
    (tmp_path / "dataset.yml").write_text(
        "tables:\n  deals:\n    url: sqlite:///crm.db\n"
        "    sql: SELECT id AS deal_id, created AS created_at, closed AS closed_at, stage AS status, value AS amount\n"
        "      FROM opps ORDER BY id\n")
    with pytest.raises(DataError) as e:
        kpitools.load(tmp_path / "dataset.yml")
    [p] = e.value.errors
    assert p.column == "amount" and p.rows == (3,) and p.values == ("lots",)
    assert p.file.startswith("sqlite:///crm.db (query; rows are result rows, from 1)")


def test_bad_sql_names_the_table_and_the_query(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    sqlite3.connect(db).close()
    (tmp_path / "dataset.yml").write_text(
        "tables:\n  deals:\n    url: sqlite:///crm.db\n    sql: |\n      SELECT * FROM opportunitys\n"
        "      WHERE 1 = 1\n"
        "  leads:\n    url: sqlite:///crm.db\n    table: crm.leads\n")
    with pytest.raises(DataError) as e:
        kpitools.load(tmp_path / "dataset.yml")
    deals, leads = e.value.errors
    assert deals.table == "deals" and "no such table: opportunitys" in deals.message
    assert "(query: SELECT * FROM opportunitys)" in deals.message
    assert leads.table == "leads" and "SELECT * FROM crm.leads" in leads.message and "crm.leads" in leads.hint


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    (tmp_path / "dataset.yml").write_text("tables:\n  deals:\n    url: sqlite:///nowhere.db\n    table: deals\n")
    with pytest.raises(DataError, match="database file not found") as e:
        kpitools.load(tmp_path / "dataset.yml")
    assert e.value.errors[0].file == str(tmp_path / "nowhere.db")
    assert not (tmp_path / "nowhere.db").exists()


# --------------------------------------------------------------------------- settings, secrets, failures


def test_a_missing_environment_variable_is_a_problem_with_file_line_and_fix(tmp_path: Path,
                                                                              monkeypatch) -> None:
    monkeypatch.delenv("KPITOOLS_NO_SUCH_PW", raising=False)
    config = tmp_path / "dataset.yml"
    config.write_text("name: x\ntables:\n  deals:\n    url: postgresql+psycopg://me:${KPITOOLS_NO_SUCH_PW}@db/sales\n"
                      "    table: deals\n")
    with pytest.raises(DataError) as e:
        kpitools.load(config)
    [p] = e.value.errors
    assert p.file == str(config) and p.table == "deals"
    assert p.message.startswith("line 4: ") and "KPITOOLS_NO_SUCH_PW is not set" in p.message
    assert "export KPITOOLS_NO_SUCH_PW=" in p.hint

    from typer.testing import CliRunner

    out = CliRunner().invoke(app, ["validate", str(config)])
    assert out.exit_code == 2 and "KPITOOLS_NO_SUCH_PW is not set" in out.output
    assert "Traceback" not in out.output


@pytest.mark.parametrize("setting, message", [
    ("    table: deals\n    sql: SELECT 1\n", "either `sql:`"),
    ("    sql: SELECT 1\n", None),
])
def test_sql_settings_are_checked(tmp_path: Path, setting: str, message: str | None) -> None:
    url = "    url: sqlite:///x.db\n" if message else ""
    (tmp_path / "dataset.yml").write_text(f"tables:\n  deals:\n{url}{setting}")
    with pytest.raises(DataError, match=message or "a `url:` with `sql:`"):
        kpitools.load(tmp_path / "dataset.yml")


def test_a_connection_failure_names_host_port_and_database_never_the_password(tmp_path: Path,
                                                                                 monkeypatch) -> None:
    secret = "s3cr@t/" + uuid.uuid4().hex  # characters that would break a URL written by hand
    monkeypatch.setenv("KPITOOLS_TEST_SECRET", secret)
    config = tmp_path / "dataset.yml"
    url = "postgresql+psycopg://sales:${KPITOOLS_TEST_SECRET}@127.0.0.1:1/crm"
    config.write_text(f"tables:\n  deals:\n    url: {url}\n    table: deals\n  leads:\n    url: {url}\n"
                      "    table: leads\n")
    with pytest.raises(DataError) as e:
        kpitools.load(config)
    p, leads = e.value.errors
    assert leads.table == "leads" and leads.message.startswith("not read: the connection to host 127.0.0.1, port 1")
    assert leads.message.endswith("failed (see table deals)")  # the server is asked once per load
    assert p.message.startswith("cannot connect to host 127.0.0.1, port 1, database crm, user sales: ")
    assert p.file.startswith("postgresql+psycopg://sales:${KPITOOLS_TEST_SECRET}@127.0.0.1:1/crm (table deals")
    assert "password" in p.hint
    assert secret not in str(e.value) and "s3cr" not in str(e.value)

    from typer.testing import CliRunner

    out = CliRunner().invoke(app, ["kpis", str(config), "--kpi", "revenue"])
    assert out.exit_code == 2 and "cannot connect to host 127.0.0.1, port 1" in out.output
    assert secret not in out.output and "Traceback" not in out.output


def test_a_password_written_into_the_url_is_masked_too(tmp_path: Path) -> None:
    config = tmp_path / "dataset.yml"
    config.write_text("tables:\n  deals:\n    url: postgresql+psycopg://sales:hunter2@127.0.0.1:1/crm?sslmode=disable\n"
                      "    sql: SELECT 1\n")
    with pytest.raises(DataError) as e:
        kpitools.load(config)
    assert "hunter2" not in str(e.value) and "sales:***@127.0.0.1:1/crm" in str(e.value)


def test_an_unknown_driver_says_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "dataset.yml").write_text("tables:\n  deals:\n    url: oracle+nosuchdriver://u:p@h/db\n    table: d\n")
    with pytest.raises(DataError, match="cannot use this database URL") as e:
        kpitools.load(tmp_path / "dataset.yml")
    assert "install the driver" in e.value.errors[0].hint and ":p@" not in str(e.value)


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_url() -> str:
    url = os.environ.get("KPITOOLS_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("KPITOOLS_REQUIRE_POSTGRES") == "1":
            pytest.fail("KPITOOLS_REQUIRE_POSTGRES=1 but KPITOOLS_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL server: set KPITOOLS_TEST_POSTGRES_URL (see .ci/run)")
    return url


def _copy_in(table, conn, keys, data_iter) -> None:  # noqa: ANN001  pandas' to_sql method protocol
    """Rows into PostgreSQL with COPY (pandas' INSERTs take seconds for the sample)."""
    buf = io.StringIO()
    pd.DataFrame(list(data_iter), columns=keys).to_csv(buf, index=False, header=False)
    cols = ", ".join(f'"{k}"' for k in keys)
    name = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
    with conn.connection.cursor() as cur:
        with cur.copy(f"COPY {name} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(buf.getvalue())


@pytest.fixture(scope="module")
def postgres(csv_sample) -> tuple[str, str]:
    """(URL template, schema) of a PostgreSQL schema holding the sample; dropped afterwards."""
    import sqlalchemy as sa

    from kpitools.data.sql import resolve_url

    template = _postgres_url()
    schema = f"kpitools_test_{uuid.uuid4().hex[:8]}"
    try:
        engine = sa.create_engine(resolve_url(template, "test", None))
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            for name, df in db_frames().items():
                df.to_sql(name, conn, schema=schema, index=False, method=_copy_in)
    except (DataError, sa.exc.OperationalError) as e:
        if os.environ.get("KPITOOLS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but not reachable: {e}")
        pytest.skip(f"PostgreSQL not reachable: {e}")
    yield template, schema
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _connections(template: str) -> int:
    """Open connections to the test database, other than the one counting."""
    import sqlalchemy as sa

    from kpitools.data.sql import resolve_url

    engine = sa.create_engine(resolve_url(template, "test", None), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND pid <> pg_backend_pid()")).scalar_one()
    finally:
        engine.dispose()


def test_postgres_gives_the_same_kpis_as_the_csv_sample(csv_sample, postgres) -> None:
    folder, csv_ds, csv_kpis = csv_sample
    template, schema = postgres
    assert "${PGPASSWORD}" in template or "${" in template  # the password comes from the environment
    tables = {name: f"{schema}.{name}" for name in csv_ds.tables}
    tables["deals"] = f'SELECT * FROM "{schema}".deals ORDER BY deal_id'
    config = write_config(folder, template, tables, name="pg.yml")
    before = _connections(template)
    ds = kpitools.load(config)
    assert _connections(template) == before  # every connection closed
    same_tables(ds, csv_ds)
    pd.testing.assert_frame_equal(kpitools.compute(ds), csv_kpis)


def test_postgres_wrong_password_and_database(csv_sample, postgres, monkeypatch) -> None:
    template, schema = postgres
    folder = csv_sample[0]
    monkeypatch.setenv("KPITOOLS_WRONG_PW", "not-the-password-" + uuid.uuid4().hex)
    wrong_pw = template.replace(template.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1], "${KPITOOLS_WRONG_PW}")
    for url, expect in [(wrong_pw, "password authentication failed"),
                        (template.rsplit("/", 1)[0] + "/no_such_db", "database no_such_db")]:
        config = write_config(folder, url, {"deals": f"{schema}.deals"}, name="bad.yml")
        with pytest.raises(DataError) as e:
            kpitools.load(config)
        text = str(e.value)
        assert "cannot connect to host" in text and expect in text
        assert os.environ["KPITOOLS_WRONG_PW"] not in text
        assert not os.environ.get("PGPASSWORD") or os.environ["PGPASSWORD"] not in text


def test_kpitools_run_on_a_postgres_dataset_never_shows_the_password(csv_sample, postgres, tmp_path: Path,
                                                                      monkeypatch) -> None:
    """A batch over a dataset whose URL holds ${PGPASSWORD}: the password is in no output file."""
    import re

    from kpitools.runner.batch import run_batch

    template, schema = postgres
    var = re.search(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", template)
    assert var, "the test URL should take its password from the environment"
    password = os.environ[var.group(1)]
    config = write_config(csv_sample[0], template, {"deals": f"{schema}.deals", "targets": f"{schema}.targets"},
                          name="batch.yml")
    (tmp_path / "spec.yml").write_text(
        f"notebook: {BATCH_NOTEBOOK}\noutput: out/{{team}}.html\nparameters: {{data: {config}, period: {END}}}\n"
        "grid:\n  team: ['', EMEA North]\n")
    monkeypatch.chdir(tmp_path)
    assert run_batch(tmp_path / "spec.yml", executor="serial", progress=False) == 0
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert any(p.name == "manifest.json" for p in files) and any(p.suffix == ".html" for p in files)
    leaks = [str(p) for p in files if password.encode() in p.read_bytes()]
    assert leaks == []
