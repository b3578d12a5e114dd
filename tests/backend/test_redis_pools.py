"""The process's Redis pools: one per URL, with replies parsed in C."""

from django.core.cache import cache
from redis._parsers import _HiredisParser

from backend import redis_pools


def test_the_cache_s_connections_parse_replies_with_hiredis() -> None:
    # Every API request asks Redis for its rate limit and every live event goes through
    # it: the pure-Python parser cost about 120 Python calls a request.
    cache.set("redis-pools-test", "value", 5)
    assert cache.get("redis-pools-test") == "value"

    pool = cache._cache.get_client().connection_pool
    connection = pool.get_connection()
    try:
        assert isinstance(connection._parser, _HiredisParser)
    finally:
        pool.release(connection)


def test_one_pool_and_client_per_url_and_options() -> None:
    url = cache._cache._servers[0]
    first = redis_pools.client(url, socket_timeout=2)
    assert redis_pools.client(url, socket_timeout=2) is first
    assert redis_pools.client(url, socket_timeout=3) is not first
