"""reports: aggregate the orders of the last `hours` (default 24) in PostgreSQL.

Event: {"hours": 24} -> {"orders": N, "revenue_cents": M, "customers": K}
"""
from lib import config


def handler(event, context=None):
    hours = max(1, min(int(event.get("hours", 24)), 24 * 90))
    db = config.postgres()
    try:
        exists = db.query("SELECT to_regclass('orders') IS NOT NULL")
        if exists[0][0] != "t":
            return {"hours": hours, "orders": 0, "revenue_cents": 0, "customers": 0}
        count, revenue, customers = db.query(
            "SELECT count(*), coalesce(sum(total_cents), 0), count(DISTINCT customer) FROM orders "
            "WHERE created_at > now() - make_interval(hours => $1)", [hours])[0]
        return {"hours": hours, "orders": int(count), "revenue_cents": int(revenue), "customers": int(customers)}
    finally:
        db.close()
