"""sessions: store and read session documents in Redis with a TTL.

Event: {"session_id": "s1", "data": {...}, "ttl": 1800} -> stores it
       {"session_id": "s1"}                              -> the session or not-found
"""
import json

from lib import config


def handler(event, context=None):
    key = f"session:{event['session_id']}"
    r = config.redis()
    try:
        if "data" in event:
            ttl = max(1, min(int(event.get("ttl", 1800)), 86400))
            r.execute("SET", key, json.dumps(event["data"], sort_keys=True), "EX", ttl)
            return {"status": "stored", "session_id": event["session_id"], "ttl": ttl}
        value = r.execute("GET", key)
        if value is None:
            return {"status": "not-found", "session_id": event["session_id"]}
        return {"status": "found", "session_id": event["session_id"], "data": json.loads(value)}
    finally:
        r.close()
