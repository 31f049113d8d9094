"""catalog: product look-ups in PostgreSQL (upsert a product, read one or list them).

Event: {"sku": "A-1", "name": "Widget", "price_cents": 500} -> upserts, returns the product
       {"sku": "A-1"}                                       -> the product or not-found
       {"limit": 10}                                        -> the first products by sku
"""
from lib import config

SCHEMA = """CREATE TABLE IF NOT EXISTS products (
  sku text PRIMARY KEY, name text NOT NULL, price_cents bigint NOT NULL CHECK (price_cents >= 0))"""


def _product(row):
    return {"sku": row[0], "name": row[1], "price_cents": int(row[2])}


def handler(event, context=None):
    db = config.postgres()
    try:
        db.query(SCHEMA)
        if "name" in event:
            db.query("INSERT INTO products (sku, name, price_cents) VALUES ($1, $2, $3) "
                     "ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents",
                     [str(event["sku"]), str(event["name"]), int(event["price_cents"])])
        if "sku" in event:
            rows = db.query("SELECT sku, name, price_cents FROM products WHERE sku = $1", [str(event["sku"])])
            return {"status": "found", **_product(rows[0])} if rows else {"status": "not-found", "sku": event["sku"]}
        limit = max(1, min(int(event.get("limit", 10)), 100))
        return {"status": "ok", "products": [_product(r) for r in db.query(
            "SELECT sku, name, price_cents FROM products ORDER BY sku LIMIT $1", [limit])]}
    finally:
        db.close()
