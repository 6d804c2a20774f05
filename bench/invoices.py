"""Invoices at scale: the list page, the overdue job and one PDF, each against a baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cc_bench python -m bench.invoices [--scale 0.01]

Builds 1,000,000 invoices (× --scale) in a dedicated database — 10 % of them in one
organization, the rest spread over ~900 others, 1–3 lines each — with set-based SQL, then
times (a) the invoice list page through the full middleware stack vs a bare Django view,
(b) `invoices_recalculate_overdue` vs one raw SQL UPDATE vs a per-row ORM loop, and
(c) `invoice_pdf` vs a minimal WeasyPrint document. Prints ratios and writes
.artifacts/bench-invoices.json. Figures only; nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import statistics
import sys
import time
import warnings
from datetime import date, timedelta
from decimal import Decimal

from bench._common import (
    BenchSetupError,
    CpuMeter,
    bench_database_settings,
    create_database,
    database_exists,
    drop_database,
    log,
    machine_info,
    print_table,
    ratio,
    sample,
    summary,
    timed,
    wal_bytes_since,
    wal_position,
    write_json,
)

FULL_INVOICES = 1_000_000
FULL_OTHER_ORGANIZATIONS = 900
BIG_SHARE = 10  # Every 10th invoice belongs to the measured organization (100,000 of 1M).
HISTORY_DAYS = 1095  # Issue dates spread over three years, newest last.
PAYMENT_TERMS = 30
# Of the invoices past their due date: 4 % overdue (flipped by earlier runs), 5 % still
# open — the backlog the overdue job finds (≈48,600 at scale 1) — the rest paid.
OVERDUE_PERCENT = 4
BACKLOG_PERCENT = 5
OTHER_CURRENCIES = ["USD", "EUR", "GBP"]  # Two-decimal currencies: SQL rounds to cents.
BIG_ACCOUNT = "BENCH-BIG"
FINANCE_EMAIL = "finance@bench.example"

TARGETS = {"list": 15.0, "overdue": 1.3, "pdf": 10.0}


# --- Data generation (set-based SQL) ---------------------------------------------------------

# One invoice line as a function of (invoice id, position): used by both the invoice totals
# and the line rows, so stored totals equal the sum of the lines by construction. Rounding is
# half away from zero, which for positive amounts is the portal's ROUND_HALF_UP.
LINE_FUNCTION = """
CREATE OR REPLACE FUNCTION bench_line(
    g bigint, p integer,
    OUT quantity numeric(12,3), OUT unit_price numeric(14,4), OUT tax_rate numeric(5,2),
    OUT amount numeric(14,2), OUT tax_amount numeric(14,2)
) LANGUAGE sql IMMUTABLE AS $$
    SELECT q, u, r, round(q * u, 2), round(round(q * u, 2) * r / 100, 2)
    FROM (SELECT
        (1 + (g + p) % 4)::numeric(12,3) AS q,
        (5 + mod(abs(hashint8(g * 4 + p)::bigint), 99500) / 100.0)::numeric(14,4) AS u,
        ((ARRAY[0, 7, 19, 20])[1 + g % 4])::numeric(5,2) AS r
    ) AS v
$$
"""

# Status from the due date and a hash bucket, as the services would have left it.
INVOICES_SQL = """
INSERT INTO invoices_invoice (
    id, number, organization_id, issue_date, due_date, currency, subtotal, tax_total,
    total, amount_paid, credits_applied, balance, status, created_at
)
SELECT b.g, 'INV-' || lpad(b.g::text, 8, '0'), b.organization_id, b.issue_date,
       b.issue_date + %(terms)s, b.currency, t.net, t.tax, t.net + t.tax,
       CASE WHEN s.status = 'closed' THEN t.net + t.tax ELSE 0 END, 0,
       CASE WHEN s.status = 'closed' THEN 0 ELSE t.net + t.tax END,
       s.status, b.issue_date::timestamptz
FROM (
    SELECT g,
           CASE WHEN g %% %(big_share)s = 0 THEN %(big_id)s
                ELSE (%(others)s::bigint[])[1 + (g / %(big_share)s) %% %(n_others)s] END
               AS organization_id,
           CASE WHEN g %% %(big_share)s = 0 THEN %(big_currency)s
                ELSE (%(currencies)s::text[])[
                    1 + ((g / %(big_share)s) %% %(n_others)s) %% %(n_currencies)s] END
               AS currency,
           %(today)s::date - %(days)s + ((g - 1) * %(days)s / %(n)s)::integer AS issue_date,
           mod(abs(hashint8(g)::bigint), 100) AS bucket
    FROM generate_series(1, %(n)s::bigint) AS g
) AS b
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN b.issue_date + %(terms)s >= %(today)s THEN 'open'
        WHEN b.bucket < %(overdue_pct)s THEN 'overdue'
        WHEN b.bucket < %(overdue_pct)s + %(backlog_pct)s THEN 'open'
        ELSE 'closed' END AS status
) AS s
CROSS JOIN LATERAL (
    SELECT sum(l.amount) AS net, sum(l.tax_amount) AS tax
    FROM generate_series(1, 1 + (b.g %% 3)::integer) AS p, bench_line(b.g, p) AS l
) AS t
ORDER BY b.g
"""

LINES_SQL = """
INSERT INTO invoices_invoiceline (
    invoice_id, position, description, period_start, period_end, quantity, unit_price,
    tax_rate, amount, tax_amount, reference
)
SELECT i.id, p, (ARRAY['Managed hosting', 'Support plan', 'Backup storage'])[p],
       i.issue_date - 30, i.issue_date - 1, l.quantity, l.unit_price, l.tax_rate, l.amount,
       l.tax_amount, ''
FROM invoices_invoice AS i
CROSS JOIN LATERAL generate_series(1, 1 + (i.id % 3)::integer) AS p
CROSS JOIN LATERAL bench_line(i.id, p) AS l
ORDER BY i.id, p
"""

# Paid invoices carry the payment that closed them (amount_paid = the adjustments' sum).
ADJUSTMENTS_SQL = """
INSERT INTO invoices_invoiceadjustment (invoice_id, kind, amount, reference, note, created_at)
SELECT id, 'payment', total, '', '', (due_date - 5)::timestamptz
FROM invoices_invoice WHERE status = 'closed' ORDER BY id
"""

# Every invoice was issued; paid and overdue ones also record how they got there (the
# overdue e-mails were sent, so the "unnotified" partial index stays small, as in production).
HISTORY_SQL = """
INSERT INTO invoices_invoicestatuschange (
    invoice_id, from_status, to_status, reason, changed_at, notified_at
)
SELECT i.id, h.from_status, h.to_status, h.reason, h.changed_at, h.notified_at
FROM invoices_invoice AS i
CROSS JOIN LATERAL (VALUES
    ('', 'open', 'issued', i.issue_date::timestamptz, NULL::timestamptz),
    ('open', i.status,
     CASE WHEN i.status = 'closed' THEN 'recalculated' ELSE 'due_date_passed' END,
     CASE WHEN i.status = 'closed' THEN (i.due_date - 5)::timestamptz
          ELSE (i.due_date + 1)::timestamptz END,
     CASE WHEN i.status = 'overdue' THEN (i.due_date + 1)::timestamptz END)
) AS h(from_status, to_status, reason, changed_at, notified_at)
WHERE h.reason = 'issued' OR i.status <> 'open'
ORDER BY i.id, h.changed_at
"""

META_TABLE = "bench_meta"
CANDIDATES_TABLE = "bench_overdue_candidates"


def _execute(sql: str, params=None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _scalar(sql: str, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def generate(*, scale: float, today: date) -> dict:
    """Organizations, one finance contact, invoices, lines, payments and history."""
    from django.db import transaction

    from accounts.models import User
    from contacts.models import Contact, Organization
    from contacts.roles import Role

    n = max(BIG_SHARE, round(FULL_INVOICES * scale))
    n_others = max(1, round(FULL_OTHER_ORGANIZATIONS * scale))
    steps: dict[str, float] = {}
    started = time.perf_counter()

    def step(name: str, sql: str, params=None) -> int:
        elapsed, rows = timed(lambda: _execute(sql, params))
        steps[name] = round(elapsed / 1000, 1)
        counted = f"{rows:>10,} rows" if rows >= 0 else " " * 15
        log(f"  {name:<28} {counted}  {elapsed / 1000:6.1f} s")
        return rows

    _execute("SET synchronous_commit = off")  # A throwaway database: no need to wait on WAL.
    with transaction.atomic():
        big = Organization.objects.create(
            account_number=BIG_ACCOUNT, name="Bench Big Customer Ltd", currency="EUR"
        )
        others = Organization.objects.bulk_create(
            Organization(
                account_number=f"BENCH-{i:05d}",
                name=f"Bench Customer {i:05d}",
                currency=OTHER_CURRENCIES[i % len(OTHER_CURRENCIES)],
            )
            for i in range(n_others)
        )
        user = User.objects.create_user(FINANCE_EMAIL, password=None, name="Bench Finance")
        Contact.objects.create(organization=big, user=user, roles=[Role.FINANCE])
    log(f"  {'organizations + contact':<28} {n_others + 1:>10,} rows")
    _execute(LINE_FUNCTION)
    step(
        "invoices",
        INVOICES_SQL,
        {
            "n": n,
            "big_share": BIG_SHARE,
            "big_id": big.pk,
            "big_currency": big.currency,
            "others": [org.pk for org in others],
            "n_others": n_others,
            "currencies": OTHER_CURRENCIES,
            "n_currencies": len(OTHER_CURRENCIES),
            "today": today,
            "days": HISTORY_DAYS,
            "terms": PAYMENT_TERMS,
            "overdue_pct": OVERDUE_PERCENT,
            "backlog_pct": BACKLOG_PERCENT,
        },
    )
    _execute(
        "SELECT setval(pg_get_serial_sequence('invoices_invoice', 'id'), "
        "(SELECT max(id) FROM invoices_invoice))"
    )
    step("invoice lines", LINES_SQL)
    step("payments", ADJUSTMENTS_SQL)
    step("status history", HISTORY_SQL)
    _execute(
        f"CREATE TABLE {CANDIDATES_TABLE} AS SELECT id FROM invoices_invoice "
        "WHERE status = 'open' AND balance > 0 AND due_date < %s",
        [today],
    )
    step(
        "vacuum analyze",
        "VACUUM (ANALYZE) invoices_invoice, invoices_invoiceline, invoices_invoiceadjustment, "
        f"invoices_invoicestatuschange, contacts_organization, {CANDIDATES_TABLE}",
    )
    _execute("SET synchronous_commit = DEFAULT")
    total = round(time.perf_counter() - started, 1)
    counts = {
        "invoices": n,
        "invoices_measured_organization": _scalar(
            "SELECT count(*) FROM invoices_invoice WHERE organization_id = %s", [big.pk]
        ),
        "organizations": n_others + 1,
        "lines": _scalar("SELECT count(*) FROM invoices_invoiceline"),
        "overdue_backlog": _scalar(f"SELECT count(*) FROM {CANDIDATES_TABLE}"),
    }
    _check_totals()
    meta = {
        "scale": scale,
        "today": today.isoformat(),
        "big_organization_id": big.pk,
        "user_id": user.pk,
        "history_mark": _scalar("SELECT coalesce(max(id), 0) FROM invoices_invoicestatuschange"),
        "counts": counts,
        "generation_seconds": total,
        "generation_steps_seconds": steps,
    }
    _execute(f"CREATE TABLE {META_TABLE} (data jsonb NOT NULL)")
    _execute(f"INSERT INTO {META_TABLE} (data) VALUES (%s)", [json.dumps(meta)])
    log(f"  generated in {total:.1f} s: {counts}")
    return meta


def _check_totals() -> None:
    """Stored totals agree with the lines and payments (the services' invariant)."""
    bad = _scalar(
        """
        SELECT count(*) FROM invoices_invoice AS i
        JOIN (SELECT invoice_id, sum(amount) AS net, sum(tax_amount) AS tax
              FROM invoices_invoiceline GROUP BY invoice_id) AS l ON l.invoice_id = i.id
        LEFT JOIN (SELECT invoice_id, sum(amount) AS paid
                   FROM invoices_invoiceadjustment GROUP BY invoice_id) AS a
            ON a.invoice_id = i.id
        WHERE i.subtotal <> l.net OR i.tax_total <> l.tax OR i.total <> l.net + l.tax
           OR i.amount_paid <> coalesce(a.paid, 0)
           OR i.balance <> i.total - i.amount_paid - i.credits_applied
        """
    )
    if bad:
        raise RuntimeError(f"{bad} generated invoices have inconsistent totals.")


def load_meta(*, scale: float, today: date) -> dict | None:
    """The previous run's data, if --reuse and it was built at this scale today."""
    exists = _scalar("SELECT to_regclass(%s) IS NOT NULL", [META_TABLE])
    if not exists:
        return None
    meta = json.loads(_scalar(f"SELECT data::text FROM {META_TABLE}"))
    if meta["scale"] != scale or meta["today"] != today.isoformat():
        return None
    return meta


# --- (a) The invoice list page vs a bare view ----------------------------------------------


def bare_invoice_list(request, organization_id: int):
    """The least a page listing 25 invoices must do: one query, a little text."""
    from django.http import HttpResponse

    from invoices.models import Invoice

    rows = Invoice.objects.filter(organization_id=organization_id).order_by("-issue_date", "-id")[
        :25
    ]
    body = "\n".join(
        f"<li>{i.number} {i.issue_date} {i.due_date} {i.status} {i.total} {i.balance}</li>"
        for i in rows
    )
    return HttpResponse(f"<ul>{body}</ul>")


def _bare_urlpatterns():
    from django.urls import path

    return [path("bare/<int:organization_id>/", bare_invoice_list)]


urlpatterns: list = []  # Filled in main(); this module is the bare view's URLconf.


def _queries_of(action) -> list[dict]:
    """Each SQL statement `action` runs, with its time (debug cursors round to 1 ms)."""
    from django.db import connection

    queries = []

    def timer(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            queries.append({"ms": round(elapsed, 2), "sql": " ".join(sql.split())[:300]})

    with connection.execute_wrapper(timer):
        action()
    return queries


def bench_list(*, meta: dict, requests: int, warmup: int) -> dict:
    from django.test import Client, override_settings

    from accounts.models import User

    user = User.objects.get(pk=meta["user_id"])
    client = Client()
    client.force_login(user)

    def list_page():
        response = client.get("/invoices/")
        assert response.status_code == 200, response.status_code
        return response

    rows = list_page().content.count(b'name="numbers" value="')
    assert rows == 25, f"the list page shows {rows} rows, expected 25"
    list_queries = _queries_of(list_page)
    list_ms, list_cpu = sample(list_page, runs=requests, warmup=warmup)

    with override_settings(ROOT_URLCONF=sys.modules[__name__], MIDDLEWARE=[]):
        bare_client = Client()
        url = f"/bare/{meta['big_organization_id']}/"

        def bare_page():
            response = bare_client.get(url)
            assert response.status_code == 200, response.status_code
            return response

        assert bare_page().content.count(b"<li>") == 25
        bare_queries = _queries_of(bare_page)
        bare_ms, bare_cpu = sample(bare_page, runs=requests, warmup=warmup)

    result = {
        "list": summary(list_ms, list_cpu),
        "bare": summary(bare_ms, bare_cpu),
        "list_queries": list_queries,
        "bare_queries": bare_queries,
    }
    result["ratio_median"] = ratio(result["list"]["median_ms"], result["bare"]["median_ms"])
    list_cpu_total, bare_cpu_total = _cpu_total(list_cpu), _cpu_total(bare_cpu)
    result["cpu_ratio"] = ratio(list_cpu_total, bare_cpu_total) if bare_cpu_total else None
    for name, queries in (("list page", list_queries), ("bare view", bare_queries)):
        measured = result[name.split()[0]]
        log(
            f"  {name}  median {measured['median_ms']:8.2f} ms  p95 {measured['p95_ms']:8.2f} ms"
            f"  ({len(queries)} queries, {sum(q['ms'] for q in queries):.1f} ms in SQL)"
        )
    for query in sorted(list_queries, key=lambda q: -q["ms"])[:3]:
        log(f"    {query['ms']:7.2f} ms  {query['sql'][:110]}")
    return result


def _cpu_total(cpu: dict) -> float:
    """Python process plus database backend CPU per request (backend 0 when unknown)."""
    return cpu["process_ms"] + (cpu["server_ms"] or 0)


# --- (b) The overdue job vs raw SQL vs a per-row loop -----------------------------------------

RAW_UPDATE = (
    "UPDATE invoices_invoice SET status = 'overdue' "
    "WHERE status = 'open' AND balance > 0 AND due_date < %s"
)
# The same writes as the service — one history row per transition — in one statement, no
# batches, no row locks: the fair floor for a job that must record what it changed.
RAW_UPDATE_WITH_HISTORY = """
WITH flipped AS (
    UPDATE invoices_invoice SET status = 'overdue'
    WHERE status = 'open' AND balance > 0 AND due_date < %(today)s
    RETURNING id
)
INSERT INTO invoices_invoicestatuschange (invoice_id, from_status, to_status, reason, changed_at)
SELECT id, 'open', 'overdue', 'due_date_passed', %(now)s FROM flipped
"""


def reset_backlog(meta: dict) -> None:
    """Back to "the job has not run": the backlog open again, no new history, vacuumed."""
    _execute(
        f"UPDATE invoices_invoice SET status = 'open' "
        f"WHERE id IN (SELECT id FROM {CANDIDATES_TABLE}) AND status <> 'open'"
    )
    _execute("DELETE FROM invoices_invoicestatuschange WHERE id > %s", [meta["history_mark"]])
    _execute("VACUUM (ANALYZE) invoices_invoice, invoices_invoicestatuschange")
    try:
        _execute("CHECKPOINT")  # Start every run with the same amount of dirty buffers.
    except Exception as error:  # Not a superuser: the runs are just a little noisier.
        log(f"  (CHECKPOINT not allowed: {error})")


def _overdue_run(action, expected: int, check) -> dict:
    """One timed run from a fresh backlog: wall ms, server CPU ms, WAL MB."""
    meter = CpuMeter()
    meter.start()
    wal = wal_position()
    elapsed, outcome = timed(action)
    cpu = meter.stop()
    check(outcome, expected)
    return {
        "ms": elapsed,
        "server_cpu_ms": cpu["server_ms"],
        "wal_mb": round(wal_bytes_since(wal) / 1e6, 1),
    }


def _ours(today: date, batch_size: int):
    from invoices.services import invoices_recalculate_overdue

    return lambda: invoices_recalculate_overdue(today=today, batch_size=batch_size)


def _check_ours(counts, expected):
    assert counts == {"overdue": expected, "reopened": 0}, counts


def _check_rows(rows, expected):
    assert rows == expected, rows


def _run_loop(today: date, limit: int, budget_s: float) -> tuple[int, float]:
    """The naive way: one SELECT, then one UPDATE (and commit) per invoice."""
    from invoices.models import Invoice, InvoiceStatus

    done = 0
    started = time.perf_counter()
    queryset = Invoice.objects.filter(
        status=InvoiceStatus.OPEN, balance__gt=0, due_date__lt=today
    ).order_by("id")[:limit]
    for invoice in queryset.iterator(chunk_size=2000):
        invoice.status = InvoiceStatus.OVERDUE
        invoice.save(update_fields=["status"])
        done += 1
        if time.perf_counter() - started > budget_s:
            break
    return done, (time.perf_counter() - started) * 1000


def explain_overdue(today: date, batch_size: int) -> dict[str, list[str]]:
    """EXPLAIN ANALYZE of one batch of ours and of the raw UPDATE, rolled back."""
    from django.db import connection, transaction

    from invoices.models import InvoiceStatus, InvoiceStatusChange
    from invoices.services import _FLIP_SQL

    ours = _FLIP_SQL.format(
        invoice="invoices_invoice", history="invoices_invoicestatuschange", comparison="<"
    )
    plans = {}
    for name, sql, params in (
        (
            "ours_first_batch",
            ours,
            {
                "from_status": InvoiceStatus.OPEN,
                "to_status": InvoiceStatus.OVERDUE,
                "today": today,
                "limit": batch_size,
                "reason": InvoiceStatusChange.Reason.DUE_DATE_PASSED,
                "now": "2026-01-01T00:00:00Z",
            },
        ),
        ("raw_update", RAW_UPDATE, [today]),
    ):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plans[name] = [row[0] for row in cursor.fetchall()]
            transaction.set_rollback(True)
    return plans


def _overdue_summary(runs: list[dict], baseline: dict | None = None) -> dict:
    result = summary([run["ms"] for run in runs])
    cpu = [run["server_cpu_ms"] for run in runs if run["server_cpu_ms"] is not None]
    result["server_cpu_median_ms"] = round(statistics.median(cpu), 1) if cpu else None
    result["wal_median_mb"] = statistics.median(run["wal_mb"] for run in runs)
    if baseline is not None:
        result["ratio_to_raw"] = ratio(result["median_ms"], baseline["median_ms"])
        if result["server_cpu_median_ms"] and baseline["server_cpu_median_ms"]:
            result["server_cpu_ratio_to_raw"] = ratio(
                result["server_cpu_median_ms"], baseline["server_cpu_median_ms"]
            )
    return result


def bench_overdue(
    *,
    meta: dict,
    today: date,
    batch_sizes: list[int],
    repeats: int,
    loop_limit: int,
    loop_budget_s: float,
    explain: bool,
) -> dict:
    from django.utils import timezone

    backlog = meta["counts"]["overdue_backlog"]
    reset_backlog(meta)
    plans = explain_overdue(today, batch_sizes[0]) if explain else {}
    for name, lines in plans.items():
        log(f"  EXPLAIN {name}:")
        for line in lines:
            log(f"    {line}")
    variants = {f"ours@{size}": (_ours(today, size), _check_ours) for size in batch_sizes}
    variants["raw"] = (lambda: _execute(RAW_UPDATE, [today]), _check_rows)
    variants["raw_with_history"] = (
        lambda: _execute(RAW_UPDATE_WITH_HISTORY, {"today": today, "now": timezone.now()}),
        _check_rows,
    )
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    for repeat in range(repeats):  # Interleaved, so drift hits every variant alike.
        for name, (action, check) in variants.items():
            reset_backlog(meta)
            run = _overdue_run(action, backlog, check)
            runs[name].append(run)
            log(
                f"  run {repeat + 1}: {name:<18} {run['ms']:9.1f} ms   server CPU "
                f"{run['server_cpu_ms'] or 0:7.0f} ms   WAL {run['wal_mb']:6.1f} MB"
            )
    reset_backlog(meta)
    looped, loop_ms = _run_loop(today, min(loop_limit, backlog), loop_budget_s)
    loop_estimate = loop_ms / looped * backlog
    log(
        f"  per-row loop: {looped:,} rows in {loop_ms / 1000:.1f} s → "
        f"{loop_estimate / 1000:.1f} s extrapolated to {backlog:,}"
    )
    reset_backlog(meta)

    raw = _overdue_summary(runs["raw"])
    ours = {size: _overdue_summary(runs[f"ours@{size}"], raw) for size in batch_sizes}
    with_history = _overdue_summary(runs["raw_with_history"], raw)
    chosen = batch_sizes[0]
    return {
        "backlog_invoices": backlog,
        "batch_size": chosen,
        "ours": ours[chosen],
        "ours_by_batch_size": {str(size): s for size, s in ours.items()},
        "raw": raw,
        "raw_with_history": with_history,
        "loop": {
            "rows_timed": looped,
            "ms_timed": round(loop_ms, 1),
            "ms_per_row": round(loop_ms / looped, 3),
            "extrapolated_ms": round(loop_estimate, 1),
        },
        "ratio_ours_raw": ours[chosen]["ratio_to_raw"],
        "ratio_ours_raw_with_history": ratio(ours[chosen]["median_ms"], with_history["median_ms"]),
        "ratio_loop_raw": ratio(loop_estimate, raw["median_ms"]),
        "explain": plans,
    }


# --- (c) One invoice PDF vs a minimal WeasyPrint document ----------------------------------


def _pdf_invoice(meta: dict, today: date):
    """A typical three-line invoice, issued through the real service (once)."""
    from contacts.models import Organization
    from invoices.models import Invoice
    from invoices.services import LineData, invoice_create

    number = "INV-PDF-0001"
    existing = Invoice.objects.filter(number=number).select_related("organization").first()
    if existing:
        return existing
    issue = today - timedelta(days=3)
    return invoice_create(
        organization=Organization.objects.get(pk=meta["big_organization_id"]),
        number=number,
        issue_date=issue,
        due_date=issue + timedelta(days=PAYMENT_TERMS),
        currency="EUR",
        lines=[
            LineData(
                description="Managed hosting, 4 vCPU / 16 GB",
                quantity=Decimal("1"),
                unit_price=Decimal("249.00"),
                tax_rate=Decimal("19"),
                period_start=issue.replace(day=1),
                period_end=issue,
                reference="SUB-2041",
            ),
            LineData(
                description="Support plan (business hours)",
                quantity=Decimal("1"),
                unit_price=Decimal("89.50"),
                tax_rate=Decimal("19"),
            ),
            LineData(
                description="Backup storage, per 100 GB",
                quantity=Decimal("3"),
                unit_price=Decimal("4.2500"),
                tax_rate=Decimal("19"),
            ),
        ],
    )


def bench_pdf(*, meta: dict, today: date, runs: int, warmup: int) -> dict:
    import weasyprint

    from invoices.pdf import invoice_pdf

    invoice = _pdf_invoice(meta, today)
    assert invoice_pdf(invoice).startswith(b"%PDF")
    invoice_ms, invoice_cpu = sample(lambda: invoice_pdf(invoice), runs=runs, warmup=warmup)
    minimal_ms, minimal_cpu = sample(
        lambda: weasyprint.HTML(string="<p>Hello</p>").write_pdf(), runs=runs, warmup=warmup
    )
    result = {
        "invoice": summary(invoice_ms, invoice_cpu),
        "minimal": summary(minimal_ms, minimal_cpu),
        "invoice_pdf_bytes": len(invoice_pdf(invoice)),
    }
    result["ratio_median"] = ratio(result["invoice"]["median_ms"], result["minimal"]["median_ms"])
    result["cpu_ratio"] = ratio(invoice_cpu["process_ms"], minimal_cpu["process_ms"])
    for name, key in (("invoice_pdf", "invoice"), ("minimal PDF", "minimal")):
        log(
            f"  {name:<11}  median {result[key]['median_ms']:8.2f} ms   CPU "
            f"{result[key]['cpu_per_call']['process_ms']:8.2f} ms per PDF"
        )
    return result


# --- Main -----------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.invoices", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1,000,000 invoices")
    parser.add_argument("--keep", action="store_true", help="keep the cc_bench database")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse data kept by --keep (same scale, same day)"
    )
    parser.add_argument("--requests", type=int, default=50, help="timed list-page requests")
    parser.add_argument(
        "--batch-sizes",
        default="5000,20000",
        help="overdue job batch sizes to time; the first (the service default) is reported",
    )
    parser.add_argument("--repeats", type=int, default=3, help="overdue job runs per variant")
    parser.add_argument("--loop-limit", type=int, default=5000, help="rows for the ORM loop")
    parser.add_argument("--pdf-runs", type=int, default=10)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE plans")
    parser.add_argument("--timeout", type=int, default=30, help="minutes before giving up")
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.scale > 1:
        parser.error("--scale must be in (0, 1]")
    args.batch_sizes = [int(size) for size in args.batch_sizes.split(",") if size.strip()]
    return args


def _on_timeout(signum, frame):
    raise TimeoutError("the benchmark ran past --timeout")


def _prepare_schema() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        db = bench_database_settings()
    except BenchSetupError as error:
        print(error, file=sys.stderr)
        return 2
    signal.signal(signal.SIGALRM, _on_timeout)
    signal.alarm(args.timeout * 60)
    # A runaway statement cannot outlive the benchmark's time budget.
    db.setdefault("OPTIONS", {})["options"] = f"-c statement_timeout={args.timeout * 60_000}"
    reuse = args.reuse and database_exists(db)
    if not reuse:
        create_database(db)

    import django
    from django.conf import settings

    # The test client serves from a fresh checkout without collectstatic; nothing is static.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()
    # Production-like request handling: no SQL logging, no debug templates.
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    urlpatterns[:] = _bare_urlpatterns()
    from django.utils import timezone

    today = timezone.localdate()
    started = time.perf_counter()
    try:
        _prepare_schema()
        info = machine_info()
        log(
            f"Machine: {info['nproc']} CPUs ({info['cpu']}), PostgreSQL {info['postgresql']}, "
            f"load average {info['load_average']}, scale {args.scale}"
        )
        meta = load_meta(scale=args.scale, today=today) if reuse else None
        if meta:
            log(f"Reusing the kept data: {meta['counts']}")
        else:
            if reuse:
                drop_database(db)
                create_database(db)
                _prepare_schema()
            log("Generating data (set-based SQL) …")
            meta = generate(scale=args.scale, today=today)

        log("(a) Invoice list page vs a bare view …")
        listing = bench_list(meta=meta, requests=args.requests, warmup=5)
        log("(b) Overdue recalculation vs raw SQL vs a per-row loop …")
        overdue = bench_overdue(
            meta=meta,
            today=today,
            batch_sizes=args.batch_sizes,
            repeats=args.repeats,
            loop_limit=args.loop_limit,
            loop_budget_s=60,
            explain=args.explain,
        )
        log("(c) Invoice PDF vs a minimal WeasyPrint PDF …")
        pdf = bench_pdf(meta=meta, today=today, runs=args.pdf_runs, warmup=2)
        info["load_average_end"] = [round(value, 2) for value in os.getloadavg()]
    finally:
        signal.alarm(0)
        if not args.keep:
            drop_database(db)

    results = {
        "machine": info,
        "scale": args.scale,
        "command": shlex.join(["python", "-m", "bench.invoices", *(argv or sys.argv[1:])]),
        "total_seconds": round(time.perf_counter() - started, 1),
        "data": {
            **meta["counts"],
            "generation_seconds": meta["generation_seconds"],
            "generation_steps_seconds": meta["generation_steps_seconds"],
            "reused": bool(reuse and meta.get("counts")),
        },
        "list": listing,
        "overdue": overdue,
        "pdf": pdf,
        "targets": TARGETS,
    }
    report(results)
    path = write_json("bench-invoices.json", results)
    log(f"\nWritten to {path}")
    return 0


def report(results: dict) -> None:
    info, data = results["machine"], results["data"]
    listing, overdue, pdf = results["list"], results["overdue"], results["pdf"]
    log("")
    log(
        f"Invoices benchmark — {info['date']} — {info['nproc']} CPUs, "
        f"PostgreSQL {info['postgresql']}, load average {info['load_average'][0]:.1f}→"
        f"{info['load_average_end'][0]:.1f}, scale {results['scale']}: {data['invoices']:,} "
        f"invoices ({data['invoices_measured_organization']:,} in the measured organization), "
        f"{data['lines']:,} lines, generated in {data['generation_seconds']:.0f} s"
    )
    raw, ours = overdue["raw"], overdue["ours"]
    loop = overdue["loop"]
    rows = [
        [
            "(a) list page /invoices/ (full stack)",
            f"{listing['list']['median_ms']:.1f} ms (p95 {listing['list']['p95_ms']:.1f}, "
            f"CPU {_cpu_total(listing['list']['cpu_per_call']):.1f})",
            f"bare view {listing['bare']['median_ms']:.1f} ms "
            f"(p95 {listing['bare']['p95_ms']:.1f}, "
            f"CPU {_cpu_total(listing['bare']['cpu_per_call']):.1f})",
            f"{listing['ratio_median']:.2f}× (CPU {listing['cpu_ratio'] or 0:.2f}×)",
            f"≤ {TARGETS['list']:g}×",
            _verdict(listing["ratio_median"], TARGETS["list"]),
        ],
        [
            f"(b) overdue job, {overdue['backlog_invoices']:,} rows, "
            f"batch {overdue['batch_size']:,}",
            f"{ours['median_ms']:.0f} ms (CPU {ours['server_cpu_median_ms'] or 0:.0f})",
            f"raw UPDATE {raw['median_ms']:.0f} ms (CPU {raw['server_cpu_median_ms'] or 0:.0f})",
            f"{overdue['ratio_ours_raw']:.2f}× (CPU {ours.get('server_cpu_ratio_to_raw', 0):.2f}×)",
            f"≤ {TARGETS['overdue']:g}×",
            _verdict(overdue["ratio_ours_raw"], TARGETS["overdue"]),
        ],
    ]
    for size, s in overdue["ours_by_batch_size"].items():
        if int(size) != overdue["batch_size"]:
            rows.append(
                [
                    f"    overdue job, batch {int(size):,}",
                    f"{s['median_ms']:.0f} ms (CPU {s['server_cpu_median_ms'] or 0:.0f})",
                    "raw UPDATE",
                    f"{s['ratio_to_raw']:.2f}× (CPU {s.get('server_cpu_ratio_to_raw', 0):.2f}×)",
                    "",
                    "",
                ]
            )
    with_history = overdue["raw_with_history"]
    rows += [
        [
            "    raw UPDATE + history INSERT (same writes)",
            f"{with_history['median_ms']:.0f} ms "
            f"(CPU {with_history['server_cpu_median_ms'] or 0:.0f})",
            "raw UPDATE",
            f"{with_history['ratio_to_raw']:.2f}× "
            f"(CPU {with_history.get('server_cpu_ratio_to_raw', 0):.2f}×)",
            "",
            "",
        ],
        [
            "    per-row ORM loop (extrapolated)",
            f"{loop['extrapolated_ms'] / 1000:.1f} s ({loop['ms_per_row']:.2f} ms/row)",
            "raw UPDATE",
            f"{overdue['ratio_loop_raw']:.1f}×",
            "",
            "",
        ],
        [
            "(c) invoice_pdf, 3 lines",
            f"{pdf['invoice']['median_ms']:.1f} ms",
            f"minimal PDF {pdf['minimal']['median_ms']:.1f} ms",
            f"{pdf['ratio_median']:.2f}× (CPU {pdf['cpu_ratio']:.2f}×)",
            f"≤ {TARGETS['pdf']:g}×",
            _verdict(pdf["ratio_median"], TARGETS["pdf"]),
        ],
    ]
    log("")
    print_table(["measure", "ours (median)", "baseline (median)", "ratio", "target", ""], rows)


def _verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "OVER TARGET"


if __name__ == "__main__":
    sys.exit(main())
