"""kpitools.masking: the one secret masker (parameters, URLs, any text the runner writes)."""
from __future__ import annotations

from kpitools.masking import MASK, has_secret, mask_parameters, mask_value, scrubber, secret_values


def test_secret_named_parameters_and_url_passwords_are_masked() -> None:
    assert mask_value("api_token", "tok-123") == MASK
    assert mask_value("db", "postgresql://u:pw@host/crm") == "postgresql://u:***@host/crm"
    assert mask_parameters({"region": "EMEA", "smtp": {"password": "hunter22"}}) == \
        {"region": "EMEA", "smtp": {"password": MASK}}
    assert has_secret("url", "sqlite:///x.db") is False and has_secret("password", "x") is True


def test_a_scrubber_hides_every_form_a_secret_takes_in_text() -> None:
    parameters = {"api_key": "s3cr&t", "url": "postgresql://u:p%40ss@h/db"}
    assert set(secret_values(parameters)) >= {"s3cr&t", "s3cr&amp;t", "p@ss", "p%40ss"}
    scrub = scrubber(parameters)
    assert scrub("key=s3cr&t html=s3cr&amp;t pw=p@ss") == f"key={MASK} html={MASK} pw={MASK}"
    assert scrubber({"region": "EMEA"})("EMEA") == "EMEA"  # nothing secret: the text is kept
