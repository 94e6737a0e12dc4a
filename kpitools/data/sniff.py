"""What a table file that will not read really is, and where it goes wrong.

Readers call these when a file has the wrong format for its extension (a PNG
renamed .parquet, a CSV saved as .xlsx, binary garbage named .csv), is not text
in the configured encoding (latin-1, cp1252, cp1251, cp1256 or UTF-16 read as
UTF-8), reads as mojibake in it (cp1251 read as latin-1: 'Ìîñêâà' for 'Москва'),
or does not parse (a row with too many fields). Each returns one `Problem`
naming the file, table, and where known the row and column, with the fix.
"""
from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from charset_normalizer.cd import coherence_ratio
from charset_normalizer.md import mess_ratio

from .config import ReadOptions
from .problems import Problem

TEXT_EXTENSIONS = (".csv", ".txt", ".tsv")
# Leading bytes of formats people save tables in (or mistake for them).
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PAR1", "a Parquet file"),
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls)"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x1f\x8b", "a gzip archive"),
)
EXPECTED = {  # extension -> (the real formats it may hold, what it should be)
    ".parquet": (("a Parquet file",), "a Parquet file"),
    ".pq": (("a Parquet file",), "a Parquet file"),
    ".xlsx": (("an Excel workbook (.xlsx) or another zip archive",), "an Excel workbook"),
    ".xlsm": (("an Excel workbook (.xlsx) or another zip archive",), "an Excel workbook"),
    ".xls": (("an old Excel workbook (.xls)", "an Excel workbook (.xlsx) or another zip archive"),
             "an Excel workbook"),
}
RENAME = {"a Parquet file": ".parquet", "an Excel workbook (.xlsx) or another zip archive": ".xlsx",
          "an old Excel workbook (.xls)": ".xls", "text": ".csv"}
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# What Excel saves "CSV" in for the locales we serve: Western, Cyrillic, Arabic/Persian Windows. Each decodes
# (nearly) any bytes, so only what the text looks like tells them apart; the first wins a tie.
CODE_PAGES = ("cp1252", "cp1251", "cp1256")
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-16": "UTF-16", "latin-1": "latin-1 (ISO-8859-1)",
                  "cp1252": "Windows-1252 (cp1252)", "cp1251": "Windows-1251 (cp1251, Cyrillic)",
                  "cp1256": "Windows-1256 (cp1256, Arabic/Persian)"}
# The letters a non-Latin code page reads high bytes as: real text in it is words of these letters.
_SCRIPTS = {"cp1251": re.compile("[\u0400-\u04ff]"), "cp1256": re.compile("[\u0600-\u06ff]")}
_WORD = re.compile(r"[^\W\d_]{2,}")
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def real_format(head: bytes) -> str:
    """What the first bytes of a file say it is: a MAGIC name, "UTF-16 text", "binary data" or "text"."""
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    if head.startswith(UTF16_BOMS):
        return "UTF-16 text"
    if _utf16_order(head):
        return "UTF-16 text"
    if b"\x00" in head or _control_share(head.decode("latin-1")) > 0.1:
        return "binary data"
    return "text"


def _utf16_order(head: bytes) -> str | None:
    """'le' or 'be' for UTF-16 text without a byte-order mark (ASCII characters leave every other
    byte zero), else None."""
    if len(head) < 8:
        return None
    for order, zeros in (("le", head[1::2]), ("be", head[0::2])):
        if zeros.count(0) > 0.9 * len(zeros) and head[(1 if order == "be" else 0)::2].count(0) < 0.1 * len(zeros):
            return order
    return None


def _control_share(text: str) -> float:
    """Share of control characters other than tab and line breaks: high in binary files."""
    if not text:
        return 0.0
    return sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n\f") / len(text)


def format_problem(path: Path, table: str, opts: ReadOptions) -> Problem | None:
    """A problem when the file's content does not match its extension, else None."""
    with open(path, "rb") as f:
        head = f.read(8192)
    real = real_format(head)
    ext = path.suffix.lower()
    where = str(path)
    if ext in TEXT_EXTENSIONS:
        if real == "UTF-16 text" and not opts.encoding.lower().replace("_", "-").startswith("utf-16"):
            order = "" if head.startswith(UTF16_BOMS) else f"-{_utf16_order(head)}"
            return Problem(f"the file is UTF-16 text, but it is read as {opts.encoding}", file=where, table=table,
                           hint=f"add read: {{encoding: utf-16{order}}} to the {table} table in the dataset "
                                "config, or save the file again as CSV UTF-8")
        if real == "binary data":
            return Problem(f"the file holds binary data, not {ext[1:].upper()} text", file=where, table=table,
                           rows=_first_line_with(path, b"\x00"),
                           hint="export the table again as CSV (or as Parquet/Excel, with that extension)")
        if real != "text" and real != "UTF-16 text":
            return Problem(f"the file is {real}, not {ext[1:].upper()} text", file=where, table=table,
                           hint=_rename_hint(path, real))
        return None
    if ext in EXPECTED:
        allowed, wanted = EXPECTED[ext]
        if real not in allowed:
            what = "CSV text" if real == "text" else real
            return Problem(f"the file is {what}, not {wanted}", file=where, table=table,
                           hint=_rename_hint(path, real))
    return None


def _rename_hint(path: Path, real: str) -> str:
    ext = RENAME.get(real)
    if ext:
        return f"rename it to {path.stem}{ext} (and change `path:` in the dataset config to match)"
    return "export the table again as CSV, Parquet or Excel, with the extension of that format"


def _first_line_with(path: Path, needle: bytes) -> tuple[int, ...]:
    data = path.read_bytes()[:1 << 20]
    at = data.find(needle)
    return (data.count(b"\n", 0, at) + 1,) if at >= 0 else ()


def guess_encoding(data: bytes) -> str | None:
    """An encoding that reads `data` as plausible text (UTF-8 first), or None for binary."""
    if data.startswith(UTF16_BOMS):
        return "utf-16"
    if _control_share(data.decode("latin-1")) > 0.01:
        return None
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Only code pages that read the whole file: the fix must make it load.
    fits = [e for e in CODE_PAGES if _decodes(data, e)]
    guess = best_encoding(b"\n".join(line for _, line in non_ascii_lines([data])), fits) if fits else None
    # latin-1 and cp1252 differ only in 0x80-0x9f (cp1252's quotes, dashes and euro sign)
    if guess == "cp1252" and not re.search(rb"[\x80-\x9f]", data):
        return "latin-1"
    return guess


def best_encoding(sample: bytes, encodings: Sequence[str], stated: str | None = None) -> str | None:
    """The one of `stated` and `encodings` in which `sample` reads as the most natural text by
    charset_normalizer's measures (least mess, then most coherent language), the earlier on a tie;
    None if none decodes it. A Cyrillic or Arabic code page the user did not state also has to read
    as words of its script: short samples of Western text can look as tidy in cp1251 ('Сandъ')."""
    best: tuple[float, float, int] | None = None
    found = None
    for rank, encoding in enumerate([stated, *encodings] if stated else encodings):
        if rank and stated and _codec(encoding) == _codec(stated):  # the stated one again
            continue
        try:
            text = sample.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if encoding != stated and not _in_script(text, _codec(encoding)):
            continue
        coherence = max((ratio for _, ratio in coherence_ratio(text)), default=0.0)
        score = (mess_ratio(text, maximum_threshold=1.0), -coherence, rank)
        if best is None or score < best:
            best, found = score, encoding
    return found


def _in_script(text: str, encoding: str) -> bool:
    """Whether `text` in a non-Latin code page is words of its script, not a mix of scripts in one
    word ('Москва', not 'Zoл Mьller': Zoë Müller read as cp1251). Latin code pages always are.
    Only words with a letter of the upper quarter count (bytes e0-ff: Cyrillic а-я, Arabic ل م ن ه و ي):
    real words have them, while Western capitals read as cp1251 or cp1256 (ÄÖÜ as ДЦЬ) do not."""
    script = _SCRIPTS.get(encoding)
    if script is None:
        return True
    words = mixed = 0
    for word in _WORD.findall(text):
        letters = len(script.findall(word))
        if letters == len(word):
            words += max(word.encode(encoding)) >= 0xE0
        elif letters:
            mixed += 1
    return words > 0 and mixed <= 0.1 * (words + mixed)


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def non_ascii_lines(blocks: Iterable[bytes], most: int = 200) -> list[tuple[int, bytes]]:
    """(line number, line) of the first `most` lines with non-ASCII bytes: the only text in which
    single-byte encodings differ. Each block must end at a line end."""
    found: list[tuple[int, bytes]] = []
    line_no = 1
    for block in blocks:
        counted = end = 0
        while m := _NON_ASCII.search(block, end):
            start = block.rfind(b"\n", 0, m.start()) + 1
            end = block.find(b"\n", m.start())
            end = len(block) if end < 0 else end
            line_no += block.count(b"\n", counted, start)
            counted = start
            found.append((line_no, block[start:end].rstrip(b"\r")))
            if len(found) == most:
                return found
        line_no += block.count(b"\n", counted)
    return found


def _blocks(path: Path, limit: int = 16 << 20, size: int = 1 << 20) -> Iterator[bytes]:
    """The file's first `limit` bytes or so, in blocks that end at a line end."""
    with open(path, "rb") as f:
        for _ in range(limit // size):
            block = f.read(size)
            if not block:
                return
            yield block + f.readline(size)


def single_byte(encoding: str) -> bool:
    """Whether every byte is a character of its own in `encoding` (latin-1, cp1252, iso-8859-x, cp125x):
    then any file decodes, right or wrong."""
    alone = 0
    for byte in range(0x80, 0x100):
        try:
            alone += len(bytes([byte]).decode(encoding)) == 1
        except (UnicodeDecodeError, LookupError):
            pass
    return alone > 64


def mojibake_problem(path: Path, table: str, opts: ReadOptions) -> Problem | None:
    """A problem when a text file is read in a single-byte encoding but its non-ASCII text is clearly in
    another ('Ìîñêâà' read as latin-1, 'Москва' in cp1251): the read itself would not fail. Looks at the
    first lines with non-ASCII bytes only, so it costs little on big files; the stated encoding wins a tie."""
    if path.suffix.lower() not in TEXT_EXTENSIONS or not single_byte(opts.encoding):
        return None
    lines = non_ascii_lines(_blocks(path))
    sample = b"\n".join(line for _, line in lines)
    # UTF-8 too: the most common mojibake of all ('ZoÃ«' for 'Zoë'), and text in it rarely decodes by chance
    guess = best_encoding(sample, ("utf-8", *CODE_PAGES), stated=opts.encoding) if lines else None
    if guess is None or _codec(guess) == _codec(opts.encoding):
        return None
    for line_no, raw in lines:  # noqa: B007  the first line that reads differently: used after the loop
        read, meant = raw.decode(opts.encoding, errors="replace"), raw.decode(guess, errors="replace")
        if read != meant:
            break
    else:
        return None
    offset = next((i for i, (a, b) in enumerate(zip(read, meant)) if a != b), 0)
    with open(path, "rb") as f:
        head = f.read(64 * 1024)  # enough for the header line
    column, value = _field_at(head, raw, offset, opts.encoding, opts, errors="replace")
    _, right = _field_at(head, raw, offset, guess, opts, errors="replace")
    if value is None or right is None:  # no header found: show the line
        value, right = read.strip()[:80], meant.strip()[:80]
    return Problem(f"the file looks like {ENCODING_NAMES.get(guess, guess)}, not {opts.encoding}: read as "
                   f"{opts.encoding} it gives {value!r} instead of {right!r}", file=str(path), table=table,
                   column=column, rows=(line_no,),
                   hint=f"set read: {{encoding: {guess}}} for the {table} table in the dataset config, "
                        "or save the file again as CSV UTF-8")


def decode_problem(path: Path, table: str, opts: ReadOptions, error: UnicodeDecodeError) -> Problem:
    """The row, column and value of the first byte that is not text in `opts.encoding`, and the
    encoding the file is most likely in."""
    data = path.read_bytes()
    where = str(path)
    # The reader decodes in chunks, so error.start may be relative to a chunk: find the byte ourselves.
    try:
        data.decode(opts.encoding)
        start = error.start
    except UnicodeDecodeError as e:
        start = e.start
    except LookupError:
        start = error.start
    line_no = data.count(b"\n", 0, start) + 1
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", start)
    raw_line = data[line_start: line_end if line_end >= 0 else len(data)].rstrip(b"\r")
    bad = data[start: start + 1]
    guess = guess_encoding(data)
    if guess is None or _codec(guess) == _codec(opts.encoding):
        return Problem(f"byte 0x{bad.hex()} is not {opts.encoding} text, and the file does not read as text in "
                       "any common encoding", file=where, table=table, rows=(line_no,),
                       hint="check that the file is a CSV export (not a damaged or binary file); if it is, "
                            "set its encoding: read: {encoding: ...}")
    column, value = _field_at(data, raw_line, start - line_start, guess, opts)
    name = ENCODING_NAMES.get(guess, guess)
    return Problem(f"byte 0x{bad.hex()} is not {opts.encoding} text: the file looks like {name}", file=where,
                   table=table, column=column, rows=(line_no,), values=(value,) if value else (),
                   hint=f"add read: {{encoding: {guess}}} to the {table} table in the dataset config, "
                        "or save the file again as CSV UTF-8")


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name.lower()


def _field_at(data: bytes, raw_line: bytes, offset: int, encoding: str, opts: ReadOptions,
              errors: str = "strict") -> tuple[str | None, str | None]:
    """(header name, value) of the field holding byte `offset` of `raw_line`."""
    try:
        text = data.decode(encoding, errors=errors)
        line = raw_line.decode(encoding, errors=errors)
        prefix = raw_line[:offset].decode(encoding, errors="replace")
    except UnicodeDecodeError:
        return None, None
    header_index = opts.skiprows + opts.header
    lines = text.split("\n", header_index + 1)
    if header_index >= len(lines):
        return None, None
    header_line = lines[header_index].rstrip("\r")
    sep = opts.sep or _sniff(header_line)
    header = next(csv.reader([header_line], delimiter=sep), [])
    fields = next(csv.reader([line], delimiter=sep), [])
    index = len(next(csv.reader([prefix], delimiter=sep), [""])) - 1
    column = header[index].strip() if 0 <= index < len(header) else None
    value = fields[index] if 0 <= index < len(fields) else None
    return column, value


def _sniff(header: str) -> str:
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def read_problem(path: Path, table: str, opts: ReadOptions, error: Exception) -> Problem:
    """A reader's exception as a Problem with the row and the fix, for the errors users cause."""
    where = str(path)
    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    if m := _FIELDS.search(text):
        expected, line, saw = (int(g) for g in m.groups())
        sep = f"the separator {opts.sep!r}" if opts.sep else "the separator"
        return Problem(f"row {line} has {saw} fields, the header has {expected}", file=where, table=table,
                       rows=(line,), hint=f"put quotes around values that contain {sep} (\"Acme, Inc.\"), "
                                          "or set the file's separator: read: {sep: ';'}")
    if m := _QUOTE.search(text):
        line = int(m.group(1)) + 1
        return Problem("a quote (\") opened here is never closed", file=where, table=table, rows=(line,),
                       hint="close the quote, or remove the stray \" from that row")
    if isinstance(error, LookupError):
        return Problem(f"unknown encoding {opts.encoding!r}", file=where, table=table,
                       hint="use utf-8, cp1252, latin-1 or utf-16 in read: {encoding: ...}")
    if "Worksheet" in text and "not found" in text or "Worksheet index" in text:
        sheets = _sheet_names(path)
        return Problem(f"no sheet {opts.sheet!r} in the workbook", file=where, table=table,
                       hint=f"set read: {{sheet: ...}} to one of: {', '.join(map(repr, sheets))}" if sheets
                       else "set read: {sheet: ...} to the sheet's name or number (0 = the first)")
    if "No columns to parse" in text:
        return Problem("no header row: the file has nothing to read after the skipped lines", file=where,
                       table=table, hint=f"check read: {{skiprows: {opts.skiprows}, header: {opts.header}}} "
                                         "against the file")
    return Problem(f"cannot read the file: {first[:300]}", file=where, table=table,
                   hint="check that it is a real CSV/Parquet/Excel file and that the `read:` options "
                        "(sep, encoding, header, sheet) match it")


def _sheet_names(path: Path) -> list[str]:
    try:
        import pandas as pd

        with pd.ExcelFile(path, engine="calamine") as book:
            return [str(s) for s in book.sheet_names]
    except Exception:  # noqa: BLE001  only used to improve a message
        return []
