from django.core.cache import cache


def ratelimit_hit(key: str, *, limit: int, period: int) -> bool:
    """Count one attempt under key; False once more than `limit` happened within `period` s."""
    cache_key = f"ratelimit:{key}"
    cache.add(cache_key, 0, timeout=period)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # Expired between add and incr.
        cache.set(cache_key, 1, timeout=period)
        count = 1
    return count <= limit
