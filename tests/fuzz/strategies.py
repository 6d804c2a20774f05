"""Hostile values for the fuzz suite: one shared text strategy plus amounts, dates, e-mails
and tampered ids. Every strategy yields strings, as a browser would send them."""

import uuid

from hypothesis import strategies as st

PAYLOADS = [
    "",
    " ",
    "NaN",
    "nan",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "-1",
    "-0",
    "0",
    "1e309",
    "-1e309",
    "1E+999999999",
    "9" * 400,
    "0.001",
    "0.0000000001",
    "1,000.00",
    "12,50",
    "0x10",
    "١٢٣",  # Arabic-Indic digits
    "²",
    "'; DROP TABLE invoices_invoice;--",
    "' OR '1'='1",
    '" OR 1=1 --',
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}",
    "{% debug %}",
    "%(x)s",
    "%s%s%s%n",
    "\x00",
    "a\x00b",
    "\r\nBcc: victim@example.com",
    "\u202e",
    "\ufeff",
    "\ud7ff\ue000",
    "😀" * 50,
    "Ω≈ç√∫",
    "EUR",
    "XXX",
    "usd",
    "US",
    "EURO",
    "../../etc/passwd",
    "..%2F..%2F",
    "%00",
    "//evil.example/",
    "https://evil.example/",
    "javascript:alert(1)",
    "true",
    "on",
    "null",
    "[]",
    "{}",
    "x" * 5000,
]

# Text that cannot be NUL-free in PostgreSQL and surrogates that cannot be UTF-8 are the
# usual crashers; st.text() draws both.
hostile_text = st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=80))

INVALID_AMOUNTS = [
    "NaN",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "-1",
    "-0.01",
    "-99999999999",
    "1e309",
    "9" * 400,
    "99999999999999999999.99",
    "0",
    "0.001",
    "abc",
    "",
    "1e-400",
    "\x00",
    "1\x00",
]
invalid_amounts = st.one_of(
    st.sampled_from(INVALID_AMOUNTS),
    st.integers(max_value=-1).map(str),
    st.decimals(allow_nan=True, allow_infinity=True, max_value=0).map(str),
    st.integers(min_value=10**15).map(str),
)

amounts = st.one_of(
    invalid_amounts,
    st.decimals(allow_nan=True, allow_infinity=True, places=4).map(str),
    st.floats().map(repr),
)

WRONG_CURRENCIES = ["XXX", "usd", "EURO", "", "US", "€", "EUR\x00", "<b>EUR</b>", "999"]
wrong_currencies = st.one_of(
    st.sampled_from(WRONG_CURRENCIES), st.text(max_size=5).filter(lambda s: s != "USD")
)

dates = st.one_of(
    st.sampled_from(
        [
            "0000-00-00",
            "2024-02-30",
            "2024-13-01",
            "9999-12-31",
            "0001-01-01",
            "10000-01-01",
            "-2024-01-01",
            "2024-1-1",
            "31/12/2024",
            "yesterday",
            "2024-01-01T25:61",
        ]
    ),
    st.dates().map(str),
)

emails = st.one_of(
    st.sampled_from(
        [
            "a@b",
            "@example.com",
            "x" * 300 + "@example.com",
            "alice@example.com\r\nBcc: victim@example.com",
            "alice@exa\x00mple.com",
            '"<script>"@example.com',
            "ålice@exämple.com",
            "alice@[127.0.0.1]",
        ]
    ),
    st.emails().map(str),
)

TAMPERED_IDS = [
    "0",
    "-1",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "not-a-uuid",
    "../",
    "..",
    "%00",
    "\x00",
    "%2e%2e%2f",
    "x" * 2000,
    "'; DROP TABLE x;--",
    "<script>",
    "\u202e",
    "😀",
    "1 OR 1=1",
    "INV-0001\x00",
]
tampered_ids = st.one_of(
    st.sampled_from(TAMPERED_IDS),
    st.uuids().map(str),
    st.text(min_size=1, max_size=40),
    st.builds(lambda: str(uuid.uuid4())),
)


def value_for(name: str):
    """The hostile strategy that fits a field name (amounts for amount fields and so on)."""
    lowered = name.lower()
    if any(word in lowered for word in ("amount", "price", "quantity", "tax_rate", "points")):
        return amounts
    if "currency" in lowered:
        return st.one_of(wrong_currencies, hostile_text)
    if "date" in lowered or lowered.endswith(("_on", "_at", "_from", "_to")):
        return st.one_of(dates, hostile_text)
    if "email" in lowered:
        return st.one_of(emails, hostile_text)
    return hostile_text
