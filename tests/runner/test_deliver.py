"""E-mail delivery (`deliver:`) against a real SMTP server on localhost (aiosmtpd), with real kernels.

tests/fixtures/batch/report.ipynb, copied with two changes: its headline's revenue is "off track" for
region APAC, and it shows a summary box. Batches run on the in-process `serial` executor. The SMTP
password is a distinctive string that must show up in no file, no output and no message.
"""
from __future__ import annotations

import base64
import datetime as dt
import email
import importlib.util
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from kpitools.runner.batch import run_batch
from kpitools.runner.errors import BatchError

ROOT = Path(__file__).parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "batch" / "report.ipynb"
TODAY = dt.date(2026, 2, 10)
MONTH = "2026-01"
PASSWORD = "pw-Zq8#kTv!3mailSecret"
ENV = "KPITOOLS_TEST_SMTP_PASSWORD"
HAS_PDF = importlib.util.find_spec("kpitools.report.pdf") is not None
NO_PDF = "kpitools.report.pdf (write_pdf) is not there yet: the PDF attachment is not checked"
SUMMARY = "Revenue grew on last month, ahead of target."


class Store:
    """Keeps every message; `refuse` addresses get 550 at RCPT, `refuse_all` 550 at DATA."""

    def __init__(self, refuse: tuple[str, ...] = (), refuse_all: bool = False) -> None:
        self.refuse, self.refuse_all = refuse, refuse_all
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_all:
            return "550 5.7.1 not accepting mail today"
        self.messages.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def to(self) -> dict[str, list[str]]:
        """Recipients -> subjects of the messages they got."""
        out: dict[str, list[str]] = {}
        for rcpts, msg in self.messages:
            for r in rcpts:
                out.setdefault(r, []).append(str(msg["Subject"]))
        return out


def _login(server, session, envelope, mechanism, data) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == b"reports" and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server(port: int, handler: Store) -> Iterator[Store]:
    controller = Controller(handler, hostname="127.0.0.1", port=port, authenticator=_login,
                            auth_require_tls=False)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    nb = json.loads(FIXTURE.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if "publish_headline({" in source:
            cell["source"] = source.replace('"status": "on track"',
                                            '"status": "off track" if region == "APAC" else "on track"')
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                        "source": f"from kpitools.report import summary_box\nsummary_box({SUMMARY!r})"})
    path = tmp_path_factory.mktemp("notebook") / "report.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def write_spec(folder: Path, notebook: Path, regions: list[str], port: int, extra: str = "",
               attach: str = "pdf" if HAS_PDF else "html") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "spec.yml"
    spec.write_text(
        f"notebook: {notebook}\noutput: out/{{period}}/{{region}}.html\n"
        f"grid:\n  region: {json.dumps(regions)}\n  period: [last_complete_month]\n"
        "title: 'Sales {period}'\n"
        + ("pdf: true\n" if attach == "pdf" else "")
        + "deliver:\n"
        f"  smtp: {{host: 127.0.0.1, port: {port}, starttls: false, username: reports, password: \"${{{ENV}}}\","
        " timeout: 5}\n"
        '  from: "Sales reports <reports@acme.example>"\n'
        "  to:\n"
        '    "": [ceo@acme.example]\n'
        "    EMEA: [emea-lead@acme.example]\n"
        '    "*": [sales-ops@acme.example]\n'
        f"  attach: {attach}\n"
        "  failures: [ops@acme.example]\n" + extra, encoding="utf-8")
    return spec


def run(folder: Path, monkeypatch: pytest.MonkeyPatch, **options) -> int:
    monkeypatch.chdir(folder)
    monkeypatch.setenv(ENV, PASSWORD)
    options.setdefault("progress", False)
    return run_batch(folder / "spec.yml", executor="serial", today=TODAY, **options)


def manifest(folder: Path) -> dict:
    return json.loads((folder / "out" / "manifest.json").read_text(encoding="utf-8"))


def by_region(folder: Path) -> dict[str, dict]:
    return {r["parameters"]["region"]: r for r in manifest(folder)["runs"]}


def assert_no_password(*folders: Path, texts: tuple[str, ...] = ()) -> None:
    """Not in any file written (also not base64-encoded, as in an SMTP login), not in any output."""
    forms = [PASSWORD.encode(), base64.b64encode(f"\0reports\0{PASSWORD}".encode()),
             base64.b64encode(PASSWORD.encode())]
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert not any(f in data for f in forms), path
    for text in texts:
        assert PASSWORD not in text


def test_each_scope_gets_its_report_and_ops_the_failure(tmp_path: Path, notebook: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capfd: pytest.CaptureFixture) -> None:
    port = free_port()
    write_spec(tmp_path, notebook, ["EMEA", "FAIL", ""], port)
    with smtp_server(port, Store()) as server:
        assert run(tmp_path, monkeypatch, progress=True) == 1  # FAIL failed; every message went out
        assert server.to() == {
            "emea-lead@acme.example": ["Sales 2026-01 — EMEA"],
            "sales-ops@acme.example": ["Sales 2026-01 — EMEA", "Sales 2026-01 — Company-wide"],
            "ceo@acme.example": ["Sales 2026-01 — Company-wide"],
            "ops@acme.example": ["Report failed: FAIL, 2026-01"],
        }
        reports = {str(m["Subject"]): m for _, m in server.messages}
        emea = reports["Sales 2026-01 — EMEA"]
        assert emea["From"] == "Sales reports <reports@acme.example>" and emea["Auto-Submitted"] == "auto-generated"
        text = emea.get_body(("plain",)).get_content()
        assert "Revenue: $104 · on track" in text and SUMMARY in text
        html = emea.get_body(("html",)).get_content()
        assert "$104" in html and SUMMARY in html and "#1b7f46" in html  # the on-track green
        # safe for mail clients: no script, no stylesheet or classes, nothing fetched
        for bad in ("<script", "<style", "<link", " class=", " src=", "http://", "https://"):
            assert bad not in html.lower()
        attachments = list(emea.iter_attachments())
        assert len(attachments) == 1
        if HAS_PDF:
            assert attachments[0].get_filename() == "EMEA.pdf"
            assert attachments[0].get_content().startswith(b"%PDF")
        else:
            assert attachments[0].get_filename() == "EMEA.html"
        failure = reports["Report failed: FAIL, 2026-01"].get_content()
        assert "ValueError: this region always fails (cell 4)" in failure and ".runs/" in failure

        runs = by_region(tmp_path)
        assert runs["EMEA"]["delivery"] == {"kind": "report",
                                            "sent": ["emea-lead@acme.example", "sales-ops@acme.example"]}
        assert runs["FAIL"]["delivery"] == {"kind": "failure", "sent": ["ops@acme.example"]}
        assert manifest(tmp_path)["delivery"]["unsent"] == []
        if HAS_PDF:
            assert runs["EMEA"]["pdf"] == f"{MONTH}/EMEA.pdf" and (tmp_path / "out" / MONTH / "EMEA.pdf").is_file()

        # a re-run makes nothing new (FAIL fails again, with the same inputs): nothing is sent twice
        assert run(tmp_path, monkeypatch, progress=True) == 1
        assert len(server.messages) == 3
        assert by_region(tmp_path)["EMEA"]["delivery"]["sent"] == ["emea-lead@acme.example", "sales-ops@acme.example"]
    out = capfd.readouterr()
    assert "delivery: 3 message(s) sent" in out.err and "nothing new to send" in out.err
    assert_no_password(tmp_path, texts=(out.out, out.err))


def test_a_refused_recipient_is_retried_alone(tmp_path: Path, notebook: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    write_spec(tmp_path, notebook, ["EMEA", ""], port)
    with smtp_server(port, Store(refuse=("emea-lead@acme.example",))) as server:
        assert run(tmp_path, monkeypatch) == 1  # the reports are fine, one recipient is not
    assert server.to() == {"sales-ops@acme.example": ["Sales 2026-01 — EMEA",
                                                      "Sales 2026-01 — Company-wide"],
                           "ceo@acme.example": ["Sales 2026-01 — Company-wide"]}
    assert (tmp_path / "out" / MONTH / "EMEA.html").is_file()
    emea = by_region(tmp_path)["EMEA"]
    assert emea["status"] == "ok" and emea["delivery"]["unsent"] == ["emea-lead@acme.example"]
    assert "550 5.1.1 no such mailbox here" in emea["delivery"]["error"]
    assert [(u["run"], u["to"]) for u in manifest(tmp_path)["delivery"]["unsent"]] == [
        (emea["id"], ["emea-lead@acme.example"])]

    with smtp_server(port, Store()) as server:
        assert run(tmp_path, monkeypatch) == 0
        assert server.to() == {"emea-lead@acme.example": ["Sales 2026-01 — EMEA"]}
        assert run(tmp_path, monkeypatch) == 0
        assert len(server.messages) == 1
    assert by_region(tmp_path)["EMEA"]["delivery"] == {
        "kind": "report", "sent": ["emea-lead@acme.example", "sales-ops@acme.example"]}


def test_a_server_down_or_refusing_fails_the_delivery_not_the_reports(
        tmp_path: Path, notebook: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture) -> None:
    port = free_port()  # nothing listens there
    write_spec(tmp_path, notebook, ["EMEA", ""], port)
    assert run(tmp_path, monkeypatch, progress=True) == 1
    runs = by_region(tmp_path)
    assert all(r["status"] == "ok" for r in runs.values())
    assert (tmp_path / "out" / MONTH / "EMEA.html").is_file() and (tmp_path / "out" / "index.html").is_file()
    unsent = manifest(tmp_path)["delivery"]["unsent"]
    assert len(unsent) == 2 and all(f"cannot reach the mail server 127.0.0.1:{port}" in u["error"] for u in unsent)
    assert runs["EMEA"]["delivery"]["unsent"] == ["emea-lead@acme.example", "sales-ops@acme.example"]

    with smtp_server(port, Store(refuse_all=True)):  # up, but refusing every message
        assert run(tmp_path, monkeypatch) == 1
    assert all("550 5.7.1 not accepting mail today" in u["error"] for u in manifest(tmp_path)["delivery"]["unsent"])

    monkeypatch.setenv(ENV, "not-the-password")
    with smtp_server(port, Store()) as server:
        monkeypatch.chdir(tmp_path)
        assert run_batch(tmp_path / "spec.yml", executor="serial", today=TODAY, progress=False) == 1
        assert server.messages == []
        assert "refused the login" in manifest(tmp_path)["delivery"]["unsent"][0]["error"]

        assert run(tmp_path, monkeypatch) == 0  # the right password: everything goes, once
        assert sorted(server.to()) == ["ceo@acme.example", "emea-lead@acme.example", "sales-ops@acme.example"]
        assert len(server.messages) == 2
        assert run(tmp_path, monkeypatch) == 0
        assert len(server.messages) == 2
    out = capfd.readouterr()
    assert "2 not sent" in out.err and "run the same command again" in out.err
    assert_no_password(tmp_path, texts=(out.out, out.err))


def test_off_track_sends_only_the_alerts(tmp_path: Path, notebook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    write_spec(tmp_path, notebook, ["EMEA", "APAC"], port, extra="  when: off_track\n")
    with smtp_server(port, Store()) as server:
        assert run(tmp_path, monkeypatch) == 0
    assert server.to() == {"sales-ops@acme.example": ["Alert: Revenue off track — Sales 2026-01 — APAC"]}
    html = server.messages[0][1].get_body(("html",)).get_content()
    assert "Alert: Revenue off track" in html and "#b42318" in html
    assert "delivery" not in by_region(tmp_path)["EMEA"]


def test_outbox_writes_eml_files_and_sends_nothing(tmp_path: Path, notebook: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    write_spec(tmp_path, notebook, ["EMEA", "FAIL"], port)
    with smtp_server(port, Store()) as server:
        assert run(tmp_path, monkeypatch, outbox=tmp_path / "outbox") == 1  # FAIL failed
        assert server.messages == []
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    runs = by_region(tmp_path)
    assert files == sorted([f"{runs['EMEA']['id']}.eml", f"{runs['FAIL']['id']}.failed.eml"])
    mail = email.message_from_bytes((tmp_path / "outbox" / files[0]).read_bytes(), policy=policy.default)
    assert mail["To"] == "emea-lead@acme.example, sales-ops@acme.example"
    assert mail.get_body(("plain",)) is not None and mail.get_body(("html",)) is not None
    assert len(list(mail.iter_attachments())) == 1
    assert not (tmp_path / "out" / ".delivery.json").exists()  # nothing was sent: a later run sends it all
    assert manifest(tmp_path)["delivery"]["mode"] == "outbox"
    assert runs["EMEA"]["delivery"]["outbox"] == f"outbox/{runs['EMEA']['id']}.eml"
    assert_no_password(tmp_path)


def test_no_deliver_skips_it(tmp_path: Path, notebook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    write_spec(tmp_path, notebook, ["EMEA"], port)
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with smtp_server(port, Store()) as server:  # the password is not even needed
        assert run_batch(tmp_path / "spec.yml", executor="serial", today=TODAY, progress=False,
                         deliver=False) == 0
        assert server.messages == []
    assert manifest(tmp_path)["delivery"] == {"mode": "off"}
    assert not (tmp_path / "out" / ".delivery.json").exists()


def test_a_missing_password_stops_the_batch_before_it_runs(tmp_path: Path, notebook: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    write_spec(tmp_path, notebook, ["EMEA"], free_port())
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BatchError) as e:
        run_batch(tmp_path / "spec.yml", executor="serial", today=TODAY, progress=False)
    assert (f"line {8 + HAS_PDF}: deliver.smtp.password uses ${{{ENV}}}, but the environment variable {ENV} "
            "is not set") in str(e.value)
    assert not (tmp_path / "out").exists()
    with pytest.raises(BatchError, match="choose one"):
        run_batch(tmp_path / "spec.yml", executor="serial", today=TODAY, progress=False, deliver=False,
                  outbox=tmp_path / "outbox")


@pytest.mark.parametrize("body, expected", [
    ("deliver:\n  smtp: {host: h, hots: x}\n  from: a@b.example\n  to: {'*': [a@b.example]}\n",
     ["line 6: deliver.smtp.hots: unknown key 'hots'; did you mean 'host'?",
      "allowed keys: host, port, starttls, username, password, timeout"]),
    ("deliver:\n  smtp: {host: h}\n  from: a@b.example\n  to: {EMEA: [emea lead@acme]}\n",
     ["line 8: deliver.to.EMEA: 'emea lead@acme' is not an e-mail address", "write it as name@example.com"]),
    ("deliver:\n  smtp: {host: h}\n  from: a@b.example\n  to: {'*': [a@b.example]}\n  attach: pdf\n",
     ["line 9: deliver.attach: attach: pdf, but the batch writes no PDF", "add `pdf: true`"]),
    ("deliver:\n  smtp: {host: h, username: u, password: hunter2hunter2}\n  from: a@b.example\n"
     "  to: {'*': [a@b.example]}\n",
     ["line 6: deliver.smtp.password: a password written in the spec", 'password: "${SMTP_PASSWORD}"']),
    ("deliver:\n  smtp: {host: h}\n  from: a@b.example\n  to: {'*': [a@b.example]}\n  when: sometimes\n",
     ["line 9: deliver.when: Input should be 'always' or 'off_track'"]),
    ("deliver:\n  smtp: {host: h}\n  from: a@b.example\n  to: {EMAE: [a@b.example]}\n",
     ["line 8: deliver.to.EMAE: no run of this batch has the scope 'EMAE'; did you mean 'EMEA'?"]),
    ("deliver:\n  smtp: {host: h}\n  to: {'*': [a@b.example]}\n",
     ["deliver.from: missing", "add `deliver.from:`"]),
], ids=["unknown-key", "bad-address", "pdf-attached-but-not-written", "password-in-the-spec", "bad-when",
        "unknown-scope", "no-from"])
def test_spec_problems(tmp_path: Path, body: str, expected: list[str]) -> None:
    from kpitools.runner.spec import load_batch

    spec = tmp_path / "spec.yml"
    spec.write_text(f"notebook: {FIXTURE}\noutput: out/{{region}}.html\ngrid:\n  region: [EMEA, '']\n" + body,
                    encoding="utf-8")
    with pytest.raises(BatchError) as e:
        load_batch(spec, today=TODAY, base=tmp_path)
    message = str(e.value)
    assert str(spec) in message and "hunter2" not in message
    for text in expected:
        assert text in message


def test_the_sales_report_by_mail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real notebook, as params/monthly-regions.yml runs it, two runs, its mail into an outbox."""
    from kpitools.data.sample import write_sample

    write_sample(tmp_path / "data", months=15, end="2026-01")
    (tmp_path / "spec.yml").write_text(
        f"notebook: {ROOT / 'notebooks' / 'sales_report.ipynb'}\n"
        "output: reports/monthly/{period}/{region}.html\nparameters: {data: data}\n"
        "grid:\n  region: ['', EMEA]\n  period: [last_complete_month]\n"
        + ("pdf: true\n" if HAS_PDF else "")
        + "deliver:\n  smtp: {host: smtp.acme.example, username: reports, password: '${" + ENV + "}'}\n"
          "  from: reports@acme.example\n  to: {'': [ceo@acme.example], EMEA: [emea-lead@acme.example]}\n",
        encoding="utf-8")
    assert run(tmp_path, monkeypatch, outbox=tmp_path / "outbox") == 0
    mails = {m["To"]: m for m in (email.message_from_bytes(p.read_bytes(), policy=policy.default)
                                  for p in (tmp_path / "outbox").glob("*.eml"))}
    assert sorted(mails) == ["ceo@acme.example", "emea-lead@acme.example"]
    emea = mails["emea-lead@acme.example"]
    assert "EMEA" in emea["Subject"] and "January 2026" in emea["Subject"]
    text = emea.get_body(("plain",)).get_content()
    assert "Revenue" in text and "Summary" in text  # the headline and the notebook's own summary
    html = emea.get_body(("html",)).get_content()
    assert "<script" not in html and " class=" not in html
    attachment = next(emea.iter_attachments())
    if not HAS_PDF:
        pytest.skip(NO_PDF)
    assert attachment.get_filename() == "EMEA.pdf" and attachment.get_content().startswith(b"%PDF")
    assert_no_password(tmp_path)
