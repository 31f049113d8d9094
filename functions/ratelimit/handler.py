"""ratelimit: fixed-window rate limiting in Redis (INCR + EXPIRE on first hit).

Event: {"key": "client-1", "limit": 100, "window": 60} -> {"allowed": true, "count": 1, ...}
"""
from lib import config


def handler(event, context=None):
    limit = int(event.get("limit", 100))
    window = max(1, int(event.get("window", 60)))
    key = f"ratelimit:{event['key']}"
    r = config.redis()
    try:
        count = r.execute("INCR", key)
        if count == 1:
            r.execute("EXPIRE", key, window)
        return {"allowed": count <= limit, "count": count, "limit": limit, "window": window}
    finally:
        r.close()
