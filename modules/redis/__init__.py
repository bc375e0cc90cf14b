from .construct import Redis, RedisProps

__all__ = ["Redis", "RedisProps"]
