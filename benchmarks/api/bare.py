"""The ceiling: a bare Tornado handler doing the same primary-key read with raw pg8000.

Same architecture as the API (a thread pool sized like its connection pool, one connection per
thread, the IOLoop never blocks) without the framework around it: no ORM, no validation, no
metrics, no logging. Run: python -m benchmarks.api.bare PORT DSN_JSON WORKERS
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pg8000.native
from tornado.web import Application, RequestHandler

SQL = (
    "SELECT id, sku, name, description, price_cents, quantity, created_at, updated_at "
    "FROM products WHERE id = :id"
)
COLUMNS = (
    "id",
    "sku",
    "name",
    "description",
    "price_cents",
    "quantity",
    "created_at",
    "updated_at",
)


class Reader:
    """One pg8000 connection per executor thread."""

    def __init__(self, dsn: dict[str, Any], workers: int) -> None:
        self.dsn = dsn
        self.local = threading.local()
        self.executor = ThreadPoolExecutor(max_workers=workers)

    def _read(self, product_id: int) -> dict[str, Any] | None:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = pg8000.native.Connection(**self.dsn)
        rows = conn.run(SQL, id=product_id)
        if not rows:
            return None
        row = dict(zip(COLUMNS, rows[0], strict=True))
        row["created_at"] = row["created_at"].isoformat()
        row["updated_at"] = row["updated_at"].isoformat()
        return row

    async def read(self, product_id: int) -> dict[str, Any] | None:
        """The product row as a dict, read on a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, self._read, product_id
        )


class ProductHandler(RequestHandler):
    """GET /products/ID -> JSON, 404 when missing."""

    def initialize(self, reader: Reader) -> None:
        self.reader = reader

    async def get(self, raw_id: str) -> None:
        row = await self.reader.read(int(raw_id))
        if row is None:
            self.set_status(404)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(row))


async def main(port: int, dsn: dict[str, Any], workers: int) -> None:
    """Serve until killed."""
    reader = Reader(dsn, workers)
    app = Application([(r"/products/(\d+)", ProductHandler, {"reader": reader})])
    app.listen(port, address="127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])))
