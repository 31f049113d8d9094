"""orders: write an order to PostgreSQL (the primary) and read it back.

Event: {"customer": "c-1", "total_cents": 1299}  -> {"order_id": 1, "status": "created"}
       {"order_id": 1}                            -> the stored order
"""
from lib import config

SCHEMA = """CREATE TABLE IF NOT EXISTS orders (
  id bigserial PRIMARY KEY, customer text NOT NULL, total_cents bigint NOT NULL CHECK (total_cents >= 0),
  created_at timestamptz NOT NULL DEFAULT now())"""


def handler(event, context=None):
    db = config.postgres()
    try:
        db.query(SCHEMA)
        if "order_id" in event:
            rows = db.query("SELECT id, customer, total_cents, created_at FROM orders WHERE id = $1",
                            [int(event["order_id"])])
            if not rows:
                return {"status": "not-found", "order_id": int(event["order_id"])}
            oid, customer, total, created = rows[0]
            return {"status": "found", "order_id": int(oid), "customer": customer, "total_cents": int(total),
                    "created_at": created}
        rows = db.query("INSERT INTO orders (customer, total_cents) VALUES ($1, $2) RETURNING id",
                        [str(event["customer"]), int(event["total_cents"])])
        return {"status": "created", "order_id": int(rows[0][0])}
    finally:
        db.close()
