"""Secret masking: parameters named like secrets, and passwords in URLs, shown as ***.

    mask_value("api_token", "tok-123")                  -> "***"
    mask_value("db", "postgresql://u:pw@host/crm")      -> "postgresql://u:***@host/crm"
    scrub = scrubber(parameters); scrub(any_text)       # every secret value of `parameters` masked in a text

The runner masks what it writes (notebooks, logs, the manifest, the portal); the report's
renderer masks passwords in error lines.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MASK = "***"
MIN_SECRET = 4  # shorter secrets are masked in parameters only: hiding every "abc" in a report would garble it

_SECRET_NAME = re.compile(r"password|passwd|secret|token|api_?key|sslkey", re.I)  # sslkey: a database URL's
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@\s]*)(?P<tail>@)", re.I)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def mask_value(name: str, value: Any) -> Any:
    """The value with any secret hidden: whole values of secret-named parameters,
    the password part of URLs (postgresql://user:***@host/db)."""
    if is_secret_name(name) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return _URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["tail"], value)
    if isinstance(value, list):
        return [mask_value(name, v) for v in value]
    if isinstance(value, dict):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    return value


def mask_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    return {k: mask_value(k, v) for k, v in parameters.items()}


def has_secret(name: str, value: Any) -> bool:
    return mask_value(name, value) != value


def secret_values(parameters: dict[str, Any]) -> list[str]:
    """The secret strings in these parameters (whole values of secret-named parameters,
    passwords in URLs), longest first, each also as it appears escaped in HTML, in a
    Python repr and percent-encoded in a URL."""
    import html
    from urllib.parse import quote, unquote

    found: set[str] = set()

    def collect(name: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                collect(str(k), v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                collect(name, v)
        elif value not in (None, "") and is_secret_name(name) and not isinstance(value, bool):
            found.add(str(value))
        elif isinstance(value, str):
            found.update(unquote(m["password"]) for m in _URL_PASSWORD.finditer(value) if m["password"])
            found.update(m["password"] for m in _URL_PASSWORD.finditer(value) if m["password"])

    for key, val in parameters.items():
        collect(key, val)
    forms = {f for s in found if len(s) >= MIN_SECRET
             for f in (s, html.escape(s), html.escape(s, quote=False), repr(s)[1:-1], quote(s, safe=""))}
    return sorted(forms, key=len, reverse=True)


def scrubber(parameters: dict[str, Any]) -> Callable[[Any], Any]:
    """A function that replaces the parameters' secret values by *** in any text (and in the
    strings inside lists and dicts); the identity when there are none."""
    secrets = secret_values(parameters)
    if not secrets:
        return lambda value: value
    pattern = re.compile("|".join(re.escape(s) for s in secrets))

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(MASK, value)
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        return value

    return scrub
