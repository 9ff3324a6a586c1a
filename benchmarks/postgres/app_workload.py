"""The API's own statements as pgbench scripts: GET-by-id and a stock adjustment.

Why: pgbench's TPC-B-like transaction updates three tiny hot tables and is not what the API
sends. These scripts are compiled from the API's SQLAlchemy statements (inventory_api.service),
so a change to a query changes the benchmark, and the schema comes from the API's own Alembic
migration. Mix: nine reads to one adjustment (an inventory lookup service).
"""

from __future__ import annotations

from pathlib import Path

from inventory_api.migrate import upgrade
from inventory_api.models import StockMovement
from inventory_api.service import ADJUST_QUANTITY, GET_PRODUCT
from sqlalchemy import bindparam, create_engine, insert
from sqlalchemy.dialects import postgresql
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import ClauseElement

from tests.support.postgres import PostgresServer

VARIABLES = ("product_id", "delta", "quantity")
READS_PER_ADJUSTMENT = 9
ROWS = 200_000  # products loaded by default: the catalogue the benchmark and the JIT test plan on
LEDGER = insert(StockMovement).values(
    product_id=bindparam("product_id"), delta=bindparam("delta"),
    quantity_after=bindparam("quantity"), reason="benchmark",
)  # fmt: skip
# Every statement the scripts send, by name: the JIT test explains exactly these.
STATEMENTS: dict[str, ClauseElement] = {
    "get_product": GET_PRODUCT,
    "adjust_quantity": ADJUST_QUANTITY,
    "ledger_insert": LEDGER,
}


def pgbench_sql(statement: ClauseElement) -> str:
    """`statement` as pgbench SQL: its variables as :name, its constants inlined."""
    dialect = postgresql.dialect(paramstyle="named")  # type: ignore[no-untyped-call]
    compiled = statement.compile(dialect=dialect)
    sql = str(compiled)
    for name in sorted(compiled.params, key=len, reverse=True):
        if name not in VARIABLES:
            value = compiled.params[name]
            sql = sql.replace(f":{name}", str(value) if isinstance(value, int) else f"'{value}'")
    return " ".join(sql.split())


def scripts(directory: Path) -> list[str]:
    """Write the two scripts; return pgbench's -f arguments with their weights."""
    choose = "\\set product_id random(1, :rows)\n"
    read = directory / "get_product.sql"
    sql = {name: pgbench_sql(statement) for name, statement in STATEMENTS.items()}
    read.write_text(choose + sql["get_product"] + ";\n")
    adjust = directory / "adjust_stock.sql"
    adjust.write_text(
        choose + "\\set delta random(1, 5)\nBEGIN;\n"
        + sql["adjust_quantity"] + " \\gset\n"
        + sql["ledger_insert"] + ";\nCOMMIT;\n"
    )  # fmt: skip
    return ["-f", f"{read}@{READS_PER_ADJUSTMENT}", "-f", f"{adjust}@1"]


def load(server: PostgresServer, rows: int) -> None:
    """The API's schema (its migration) and `rows` products in database `app`."""
    database = server.create_database(name="app")
    engine = create_engine(database.sqlalchemy_url, poolclass=NullPool)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    database.query(
        "INSERT INTO products (sku, name, price_cents, quantity) "
        "SELECT 'SKU-' || g, 'Product ' || g, 100 + g % 10000, 1000 FROM generate_series(1, :n) g",
        n=rows,
    )
    server.superuser_sql("VACUUM ANALYZE", dbname="app")
    server.superuser_sql("CHECKPOINT")
