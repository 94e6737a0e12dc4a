"""E-mail delivery of a batch's reports (`deliver:` in the spec): after the runs, before the manifest.

    result = deliver(batch, runs, records, outbox=None)   # send by SMTP; outbox=Path: write .eml files
    result.unsent                                          # messages not sent: the batch exits 1

Each report (a run that is ok, or unchanged and skipped) goes to the recipients of its scope (`to:`,
"" the company-wide report, "*" every run) as one message: the headline cards and the summary as an
HTML body made for mail clients (tables and inline styles, no scripts, no images, no classes), a
plain-text alternative, and the PDF or HTML attached. `when: off_track` sends only the reports with a
headline KPI off track. Each failed run is one message to `failures:` with its error. Mail about a
report speaks the report's language (its `locale` parameter); failure notices are English, like the
logs they point to.

Never twice: `<output>/.delivery.json`, the ledger, holds every message sent, by run fingerprint (what
the report was made from), kind (report, failure) and recipient. A message goes only to the recipients
the ledger does not have for its fingerprint, so a re-run sends what was not sent (a server that was
down, a recipient refused) and nothing else; a changed report (new data, new notebook) is new mail.
`--outbox` writes what would be sent and leaves the ledger alone.

The SMTP password is `${NAME}` in the spec, read from the environment when connecting; it is masked
(kpitools.masking) in every text this module writes or returns.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import re
import smtplib
import socket
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from .. import i18n
from ..data.config import ENV_VAR, _line_of, read_yaml
from ..data.problems import Problem
from ..files import atomic_write, read_json, write_json
from ..i18n import gettext as _
from ..masking import scrubber
from .errors import BatchError
from .manifest import RUNS_DIR, pdf_path, relative_to_cwd
from .run import EXECUTED, LOG
from .spec import COMPANY_WIDE, Batch, DeliverSpec, Run, recipients

LEDGER = ".delivery.json"
OFF_TRACK = "off track"
# Mail clients ignore stylesheets and variables: the portal's colours, written out.
INK, MUTED, LINE, BG = "#1f2933", "#5f6b7a", "#d9dee5", "#f6f7f9"
STATUS_COLOURS = {"on track": "#1b7f46", "at risk": "#a86200", "off track": "#b42318"}
FONT = "-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
FONT_RTL = "Tahoma,'Segoe UI','Noto Sans Arabic',Arial,sans-serif"


@dataclass(eq=False)  # compared by identity
class Message:
    run: Run
    kind: str                      # report | failure
    to: list[str]                  # recipients still to be sent to
    fingerprint: str
    mail: EmailMessage | None = None  # None: it could not be made (error says why)
    sent: list[str] = field(default_factory=list)
    eml: Path | None = None           # where --outbox wrote it
    error: str | None = None


@dataclass
class Delivery:
    mode: str                                             # smtp | outbox
    messages: list[Message] = field(default_factory=list)

    @property
    def outbox(self) -> list[Path]:
        return [m.eml for m in self.messages if m.eml is not None]

    @property
    def unsent(self) -> list[Message]:
        """Messages that could not be made, or (sending) not to every recipient."""
        return [m for m in self.messages if m.mail is None or self.mode == "smtp" and set(m.to) - set(m.sent)]

    def manifest(self) -> dict[str, Any]:
        """The manifest's `delivery`: what was sent to whom now, and what was not (addresses only)."""
        out: dict[str, Any] = {"mode": self.mode}
        if self.mode == "outbox":
            out["outbox"] = [relative_to_cwd(p) for p in self.outbox]
        else:
            out["sent"] = [{"run": m.run.id, "kind": m.kind, "to": m.sent} for m in self.messages if m.sent]
        out["unsent"] = [{"run": m.run.id, "kind": m.kind, "to": [a for a in m.to if a not in m.sent],
                          "error": m.error} for m in self.unsent]
        return out


def check_delivery(batch: Batch, *, enabled: bool, outbox: Path | None) -> None:
    """Before anything runs: the options fit the spec, and sending will find its password.
    Raises BatchError (exit 2)."""
    where = str(batch.spec_path)
    d = batch.spec.deliver
    problems = []
    if outbox is not None and not enabled:
        problems.append(Problem("--outbox and --no-deliver together: choose one", file=where,
                                hint="--outbox writes the messages as .eml files, --no-deliver skips them"))
    elif outbox is not None and d is None:
        problems.append(Problem("--outbox: the spec has no `deliver:` block, so there is nothing to write",
                                file=where, hint="add `deliver:` (see README, Delivery), or leave --outbox out"))
    elif outbox is not None and outbox.exists() and not outbox.is_dir():
        problems.append(Problem(f"--outbox {outbox}: not a folder", file=where,
                                hint="give a folder for the .eml files"))
    elif enabled and outbox is None and d is not None and d.smtp.password:
        missing = [v for v in ENV_VAR.findall(d.smtp.password) if v not in os.environ]
        if missing:
            where_line = _line(batch, ("deliver", "smtp", "password"))
            problems.append(Problem(f"{where_line}deliver.smtp.password uses ${{{missing[0]}}}, "
                                    "but the environment variable "
                                    f"{missing[0]} is not set", file=where,
                                    hint=f"set it before running kpitools (export {missing[0]}=...), or run with "
                                         "--outbox DIR or --no-deliver; the value never appears in any output"))
    if problems:
        raise BatchError(problems)


def _line(batch: Batch, loc: tuple[str, ...]) -> str:
    """"line N: " of a key in the spec, as the spec's other problems say it."""
    try:
        _, node = read_yaml(batch.spec_path, error=BatchError)
    except BatchError:
        return ""
    line = _line_of(node, loc)
    return f"line {line}: " if line else ""


def deliver(batch: Batch, runs: list[Run], records: dict[str, dict[str, Any]], *,
            outbox: Path | None = None) -> Delivery:
    """Send (or, with `outbox`, write as .eml files) the mail for these runs' records, and add to each
    record what its `delivery` is (see the module doc)."""
    spec = batch.spec.deliver
    assert spec is not None
    scrub = _scrubber(spec)
    ledger = _read_ledger(batch.root)
    result = Delivery(mode="outbox" if outbox is not None else "smtp")
    for run in runs:
        record = records.get(run.id)
        message = _plan(spec, run, record, ledger) if record else None
        if message is None or record is None:
            continue
        try:
            message.mail = _compose(batch, spec, run, record, message, scrub)
        except OSError as e:  # the attachment is gone
            message.error = scrub(f"cannot attach {relative_to_cwd(Path(e.filename or ''))}: {e.strerror or e}")
        result.messages.append(message)
    if outbox is not None:
        for m in result.messages:
            if m.mail is not None:
                m.eml = Path(outbox) / f"{m.run.id}{'.failed' if m.kind == 'failure' else ''}.eml"
                data: bytes = m.mail.as_bytes(policy=SMTP)
                atomic_write(m.eml, functools.partial(_write_bytes, data=data))
    else:
        _send(spec, [m for m in result.messages if m.mail is not None], batch.root, ledger, scrub)
    _annotate(runs, records, result, ledger)
    return result


def _annotate(runs: list[Run], records: dict[str, dict[str, Any]], result: Delivery,
              ledger: dict[str, Any]) -> None:
    """Each manifest entry's `delivery`: who has been sent its report (or failure notice) by now, in this
    batch or an earlier one (the ledger), who has not, and why; or the .eml file written."""
    planned = {m.run.id: m for m in result.messages}
    for run in runs:
        record = records.get(run.id)
        if not record:
            continue
        m = planned.get(run.id)
        kind = m.kind if m else "failure" if record.get("status") == "failed" else "report"
        fingerprint = m.fingerprint if m else record.get("fingerprint") or f"run:{run.id}"
        entry: dict[str, Any] = {}
        sent = sorted((ledger.get(fingerprint) or {}).get(kind, {}))
        if sent:
            entry["sent"] = sent
        if m is not None and m.eml is not None:
            entry["outbox"], entry["to"] = relative_to_cwd(m.eml), m.to
        elif m is not None and m in result.unsent:
            entry["unsent"], entry["error"] = [a for a in m.to if a not in m.sent], m.error
        if entry:
            record["delivery"] = {"kind": kind, **entry}


def report(result: Delivery, root: Path) -> None:
    """One line on stderr (the batch's summary goes to stdout)."""
    if result.mode == "outbox":
        where = relative_to_cwd(result.outbox[0].parent) if result.outbox else "the outbox"
        print(f"delivery: {len(result.outbox)} message(s) written to {where}, none sent", file=sys.stderr, flush=True)
        return
    sent = sum(bool(m.sent) for m in result.messages)
    line = f"delivery: {sent} message(s) sent"
    if result.unsent:
        first = result.unsent[0]
        line += (f", {len(result.unsent)} not sent ({first.error}); run the same command again to send them "
                 f"(listed in {relative_to_cwd(root / 'manifest.json')})")
    elif not result.messages:
        line += " (nothing new to send)"
    print(line, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- what to send, to whom


def _plan(spec: DeliverSpec, run: Run, record: dict[str, Any], ledger: dict[str, Any]) -> Message | None:
    status = record.get("status")
    if status in ("ok", "skipped"):
        if spec.when == "off_track" and not _off_track(record):
            return None
        kind, to = "report", recipients(spec, run.scope)
    elif status == "failed":
        kind, to = "failure", list(spec.failures)
    else:
        return None
    fingerprint = record.get("fingerprint") or f"run:{run.id}"
    done = {a.lower() for a in (ledger.get(fingerprint) or {}).get(kind, {})}
    pending = [a for a in to if a.lower() not in done]
    return Message(run=run, kind=kind, to=pending, fingerprint=fingerprint) if pending else None


def _off_track(record: dict[str, Any]) -> list[str]:
    """Names of the headline KPIs that are off track."""
    return [str(k.get("name") or key) for key, k in (record.get("headline") or {}).items()
            if str(k.get("status") or "").lower() == OFF_TRACK]


# ----------------------------------------------------------------------------- the ledger


def _read_ledger(root: Path) -> dict[str, Any]:
    """{fingerprint: {"run": id, "report" | "failure": {address: sent at}}}."""
    found = read_json(Path(root) / LEDGER)
    return found if isinstance(found, dict) else {}


def _record_sent(ledger: dict[str, Any], root: Path, message: Message, addresses: list[str]) -> None:
    entry = ledger.setdefault(message.fingerprint, {"run": message.run.id})
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    entry.setdefault(message.kind, {}).update({a.lower(): when for a in addresses})
    write_json(Path(root) / LEDGER, ledger)  # after every message: a crash later never resends it


# ----------------------------------------------------------------------------- sending


def _scrubber(spec: DeliverSpec) -> Callable[[Any], Any]:
    """Masks the SMTP password (its value in the environment) in any text."""
    value = ENV_VAR.sub(lambda m: os.environ.get(m[1], ""), spec.smtp.password or "")
    return scrubber({"smtp_password": value})


def _send(spec: DeliverSpec, messages: list[Message], root: Path, ledger: dict[str, Any],
          scrub: Callable[[Any], Any]) -> None:
    """Send over one connection (re-opened once after the server hangs up); what fails keeps its error."""
    smtp = spec.smtp
    conn: smtplib.SMTP | None = None
    down: str | None = None  # the server could not be reached: no point trying each message
    envelope = parseaddr(spec.sender)[1]
    try:
        for m in messages:
            if down:
                m.error = down
                continue
            try:
                conn = conn or _connect(spec)
            except OSError as e:
                m.error = down = scrub(_reason(e, smtp.host, smtp.port, connecting=True))
                continue
            assert m.mail is not None  # only messages that were made are sent
            try:
                refused = conn.send_message(m.mail, from_addr=envelope, to_addrs=m.to)
            except smtplib.SMTPRecipientsRefused as e:
                refused = e.recipients
            except OSError as e:  # smtplib's errors are OSErrors too
                m.error = scrub(_reason(e, smtp.host, smtp.port))
                if isinstance(e, smtplib.SMTPServerDisconnected) or not isinstance(e, smtplib.SMTPException):
                    conn.close()  # the connection is gone: the next message opens a new one
                    conn = None
                continue
            m.sent = [a for a in m.to if a not in refused]
            if refused:
                m.error = scrub("the mail server refused " + "; ".join(
                    f"{a} ({code} {_text(reply)})" for a, (code, reply) in refused.items()))
            if m.sent:
                _record_sent(ledger, root, m, m.sent)
    finally:
        if conn is not None:
            try:
                conn.quit()
            except OSError:
                conn.close()


def _connect(spec: DeliverSpec) -> smtplib.SMTP:
    smtp = spec.smtp
    # The host name, not socket.getfqdn(): a reverse DNS look-up can hang longer than the time-out.
    conn = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout, local_hostname=socket.gethostname())
    try:
        conn.ehlo()
        if smtp.starttls:
            conn.starttls(context=ssl.create_default_context())
            conn.ehlo()
        if smtp.username:
            missing = [v for v in ENV_VAR.findall(smtp.password or "") if v not in os.environ]
            if missing:
                raise smtplib.SMTPException(f"the environment variable {missing[0]} (deliver.smtp.password) is "
                                            "not set")
            conn.login(smtp.username, ENV_VAR.sub(lambda m: os.environ[m[1]], smtp.password or ""))
        return conn
    except BaseException:
        conn.close()
        raise


def _reason(e: BaseException, host: str, port: int, connecting: bool = False) -> str:
    """One line saying what went wrong, for the manifest and the terminal (masked by the caller)."""
    server = f"the mail server {host}:{port}"
    if isinstance(e, smtplib.SMTPAuthenticationError):
        return f"{server} refused the login ({e.smtp_code} {_text(e.smtp_error)}): check username and password"
    if isinstance(e, smtplib.SMTPNotSupportedError):
        return f"{server} does not offer STARTTLS (starttls: false only for a server on a trusted network)"
    if isinstance(e, smtplib.SMTPResponseException):
        return f"{server} refused the message ({e.smtp_code} {_text(e.smtp_error)})"
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return f"{server} closed the connection ({e})"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return f"{server} did not answer in time"
    if isinstance(e, ssl.SSLError):
        return f"TLS with {server} failed: {e}"
    if isinstance(e, OSError):
        return f"cannot reach {server}: {e.strerror or e}" if connecting else f"lost {server}: {e.strerror or e}"
    return f"{server}: {e}"


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _text(reply: Any) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


# ----------------------------------------------------------------------------- the messages


def _compose(batch: Batch, spec: DeliverSpec, run: Run, record: dict[str, Any], message: Message,
             scrub: Callable[[Any], Any]) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = spec.sender
    mail["To"] = ", ".join(message.to)
    mail["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    mail["Message-ID"] = make_msgid(domain=parseaddr(spec.sender)[1].rpartition("@")[2] or None)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to a robot
    if message.kind == "failure":
        subject, text = _failure_text(batch, run, record)
        mail["Subject"] = scrub(subject)
        mail.set_content(scrub(text))
        return mail
    try:
        locale = i18n.normalize(str(run.parameters.get("locale") or i18n.DEFAULT))
    except ValueError:
        locale = i18n.DEFAULT
    attach = spec.attach or ("pdf" if batch.spec.pdf else "html")
    file = batch.root / (pdf_path(run.html) if attach == "pdf" else run.html)
    data = file.read_bytes() if attach != "none" else b""
    with i18n.using(locale):
        subject, text, html = _report_texts(batch, run, record, file.name if attach != "none" else None)
    mail["Subject"] = scrub(subject)
    mail.set_content(scrub(text))
    mail.add_alternative(scrub(html), subtype="html")
    if attach == "pdf":
        mail.add_attachment(data, maintype="application", subtype="pdf", filename=file.name)
    elif attach == "html":
        mail.add_attachment(data, maintype="text", subtype="html", filename=file.name)
    return mail


def _report_texts(batch: Batch, run: Run, record: dict[str, Any], attached: str | None) -> tuple[str, str, str]:
    """Subject, plain text and HTML body of a report's message, in the active locale."""
    from .portal import _period_label

    period_raw = str(run.parameters.get("period") or "")
    calendar = str(run.parameters.get("calendar") or "gregorian")
    period = _period_label(period_raw, calendar) if period_raw else ""
    scope = _("Company-wide") if run.scope == COMPANY_WIDE else run.scope
    title = record.get("title") or _html_title(batch.root / run.html) or Path(run.html).stem
    extra = [x for x in (scope, period) if x and x not in title and not (x == period and period_raw in title)]
    subject = title + (" — " + _(", ").join(extra) if extra else "")
    off = _off_track(record)
    alert = _("Alert: {kpis} off track", kpis=i18n.join(off)) if off else ""
    if alert:
        subject = f"{alert} — {subject}"
    headline = record.get("headline") or {}
    summary = _summary(batch.root / RUNS_DIR / run.id / EXECUTED)
    note = _("The full report is attached: {file}", file=attached) if attached else ""
    byline = " · ".join(x for x in (scope, period) if x)

    lines = [title, byline, ""]
    if alert:
        lines += [alert, ""]
    for kpi in headline.values():
        status = i18n.status_text(kpi["status"]) if kpi.get("status") else ""
        lines.append(" · ".join(x for x in (f"{kpi.get('name')}: {kpi.get('display')}", kpi.get("change"), status)
                                if x))
    if summary:
        lines += ["", _("Summary"), "\n\n".join(summary)]
    if note:
        lines += ["", note]
    text = "\n".join(lines).strip() + "\n"
    return subject, text, _html_body(subject, title, byline, alert, headline, summary, note)


def _html_body(subject: str, title: str, byline: str, alert: str, headline: dict[str, Any], summary: list[str],
               note: str) -> str:
    """The headline cards and the summary, as mail clients show them: nested tables, inline styles only."""
    rtl = i18n.is_rtl()
    start = "right" if rtl else "left"
    font = FONT_RTL if rtl else FONT
    direction = ' dir="rtl"' if rtl else ""
    cards = []
    for kpi in headline.values():
        status = str(kpi.get("status") or "").lower()
        fg, bar = STATUS_COLOURS.get(status, INK), STATUS_COLOURS.get(status, LINE)
        change = (f'<div style="font-size:12px;color:{MUTED};margin-top:2px">{escape(str(kpi["change"]))}</div>'
                  if kpi.get("change") else "")
        state = (f'<div style="font-size:12px;font-weight:bold;color:{fg};margin-top:4px">&#9679; '
                 f'{escape(i18n.status_text(status))}</div>' if status else "")
        cards.append(
            f'<td width="50%" valign="top" style="padding:5px">'
            f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
            f'style="border:1px solid {LINE};border-{start}:5px solid {bar};background:#ffffff">'
            f'<tr><td style="padding:10px 12px;font-family:{font};text-align:{start}">'
            f'<div style="font-size:13px;color:{MUTED}">{escape(str(kpi.get("name") or ""))}</div>'
            f'<div style="font-size:22px;font-weight:bold;color:{fg};margin-top:2px">'
            f'{escape(str(kpi.get("display") or ""))}</div>{change}{state}</td></tr></table></td>')
    if len(cards) % 2:
        cards.append('<td width="50%" style="padding:5px"></td>')
    rows = "".join(f"<tr>{cards[i]}{cards[i + 1]}</tr>" for i in range(0, len(cards), 2))
    banner = (f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
              f'style="margin:0 0 14px"><tr><td style="padding:10px 12px;background:#fdecea;border:1px solid #b42318;'
              f'color:#b42318;font-weight:bold;font-family:{font};text-align:{start}">{escape(alert)}</td></tr>'
              f"</table>" if alert else "")
    paragraphs = "".join(f'<p style="margin:0 0 10px;font-size:15px;line-height:1.5">{escape(p)}</p>'
                         for p in summary)
    summary_html = (f'<h2 style="font-size:16px;margin:18px 0 8px;color:{INK}">{escape(_("Summary"))}</h2>'
                    f"{paragraphs}" if summary else "")
    note_html = f'<p style="margin:16px 0 0;font-size:13px;color:{MUTED}">{escape(note)}</p>' if note else ""
    return (
        f'<!DOCTYPE html><html lang="{i18n.html_lang()}"{direction}><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(subject)}</title></head>'
        f'<body style="margin:0;padding:0;background:{BG}"{direction}>'
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:{BG}">'
        f'<tr><td align="center" style="padding:16px 8px">'
        f'<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0"{direction} '
        f'style="width:100%;max-width:600px;background:#ffffff;border:1px solid {LINE}">'
        f'<tr><td style="padding:20px 22px;font-family:{font};color:{INK};text-align:{start}">{banner}'
        f'<h1 style="margin:0 0 4px;font-size:21px;color:{INK}">{escape(title)}</h1>'
        f'<p style="margin:0 0 12px;font-size:14px;color:{MUTED}">{escape(byline)}</p>'
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">{rows}</table>'
        f"{summary_html}{note_html}"
        f"</td></tr></table></td></tr></table></body></html>\n")


def _failure_text(batch: Batch, run: Run, record: dict[str, Any]) -> tuple[str, str]:
    """Subject and text of a failure notice (English, like the log it points to)."""
    period = str(run.parameters.get("period") or "")
    subject = "Report failed: " + ", ".join(x for x in (run.scope, period) if x)
    params = ", ".join(f"{k}={v}" for k, v in (record.get("parameters") or {}).items())
    text = (f"The report {run.html} of the batch {relative_to_cwd(batch.spec_path)} failed.\n\n"
            f"Error: {record.get('error') or 'unknown'}\n\n"
            f"Scope: {run.scope}\nPeriod: {period or '-'}\nParameters: {params}\n"
            f"Log: {relative_to_cwd(batch.root / RUNS_DIR / run.id / LOG)}\n"
            f"Notebook as far as it ran: {relative_to_cwd(batch.root / RUNS_DIR / run.id / EXECUTED)}\n\n"
            "Running the same command again retries the failed reports (and sends them once they are made).\n")
    return subject, text


def _html_title(path: Path) -> str:
    """The report page's <title>, or ""."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.read(65536)
    except OSError:
        return ""
    m = re.search(r"<title[^>]*>(.*?)</title>", head, re.S | re.I)
    parser = _Text()
    parser.feed(m[1] if m else "")
    return " ".join("".join(parser.parts).split())


def _summary(notebook: Path) -> list[str]:
    """The paragraphs of the report's summary box (cards.summary_box) in the executed notebook (secrets
    masked there already); [] when it has none."""
    import json

    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            html = (out.get("data") or {}).get("text/html")
            html = "".join(html) if isinstance(html, list) else html
            if isinstance(html, str) and 'class="kpi-summary"' in html:
                parser = _Summary()
                parser.feed(html)
                return [p for p in (" ".join(p.split()) for p in parser.paragraphs) if p]
    return []


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


class _Summary(HTMLParser):
    """The text of each <p> inside the first <div class="kpi-summary">."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0          # open divs inside the summary box
        self.done = False
        self.paragraphs: list[str] = []
        self.in_p = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "div" and (self.depth or "kpi-summary" in (dict(attrs).get("class") or "").split()):
            self.depth += 1
        elif tag == "p" and self.depth:
            self.in_p = True
            self.paragraphs.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.in_p = False
        elif tag == "div" and self.depth:
            self.depth -= 1
            self.done = self.depth == 0

    def handle_data(self, data: str) -> None:
        if self.in_p and self.depth and not self.done:
            self.paragraphs[-1] += data
