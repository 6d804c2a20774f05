"""Query budgets: a page must cost the same number of queries at 10 and at 1,000 rows."""

from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext


def count_queries(action: Callable[[], object]) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        action()
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def assert_flat_query_count(
    *, grow: Callable[[int], object], request: Callable[[], object], small=10, large=1000
) -> int:
    """grow(n) adds n rows; request() renders the page. Returns the (equal) count."""
    grow(small)
    request()  # Warm up (content types, session writes) so both measurements compare alike.
    at_small, _ = count_queries(request)
    grow(large - small)
    request()
    at_large, queries = count_queries(request)
    assert at_small == at_large, (
        f"{at_small} queries at {small} rows but {at_large} at {large}:\n" + "\n".join(queries)
    )
    return at_large
