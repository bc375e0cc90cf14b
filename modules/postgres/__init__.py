from .construct import (
    EFFECTIVE_CACHE_SIZE_75_PERCENT,
    PAGE_BYTES,
    SHARED_BUFFERS_25_PERCENT,
    Postgres,
    PostgresProps,
)

__all__ = ["EFFECTIVE_CACHE_SIZE_75_PERCENT", "PAGE_BYTES", "SHARED_BUFFERS_25_PERCENT",
           "Postgres", "PostgresProps"]
