"""One Redis connection pool per process, URL and options.

Under ASGI, Django keeps a cache object per request context, and its Redis client
builds a new connection pool for each object: every request opened a new connection to
Redis (and redis-py looked up its own version for each). redis-py's pools are thread-safe
and reset themselves after a fork, so one per process is enough."""

import threading

import redis

_pools: dict[tuple, redis.ConnectionPool] = {}
_lock = threading.Lock()


class SharedConnectionPool(redis.ConnectionPool):
    """For the cache's OPTIONS["pool_class"]: `from_url` hands out the process's pool."""

    @classmethod
    def from_url(cls, url: str, **options) -> redis.ConnectionPool:
        key = (url, tuple(sorted((name, repr(value)) for name, value in options.items())))
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = redis.ConnectionPool.from_url(url, **options)
            return pool


def client(url: str, **options) -> redis.Redis:
    """A client on the process's pool for `url` and `options` (timeouts and the like)."""
    return redis.Redis(connection_pool=SharedConnectionPool.from_url(url, **options))
