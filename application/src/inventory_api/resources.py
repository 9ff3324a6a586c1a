"""A model's API, derived from its columns: request bodies, the answer's schema and its JSON.

Why: a field declared in one place cannot be forgotten in another. The columns of the model are
read once at import; a column the API cannot represent fails the import with its name, not a
request at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase

from inventory_api.models import Product
from inventory_api.schemas import (
    API_INFO,
    MAX_SAFE_INTEGER,
    ApiColumn,
    BodySchema,
    Field,
    IntegerField,
    StringField,
)

TIMESTAMP = {"type": "string", "format": "date-time"}


def _integer_range(column: Column[Any]) -> tuple[int, int]:
    """The values of the column's type that every JSON client keeps exact."""
    if isinstance(column.type, SmallInteger):
        return -(2**15), 2**15 - 1
    if isinstance(column.type, BigInteger):
        return -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER
    return -(2**31), 2**31 - 1


def _has_default(column: Column[Any]) -> bool:
    return column.default is not None or column.server_default is not None


def request_field(column: Column[Any], spec: ApiColumn, *, required: bool) -> Field:
    """The body field of a writable column."""
    if column.nullable:
        raise ValueError(f"{column}: API columns must be NOT NULL (give a server_default)")
    if isinstance(column.type, String):
        max_length = spec.max_length or column.type.length
        if max_length is None:
            raise ValueError(f"{column}: a string column without a length needs max_length")
        if column.type.length is not None and max_length > column.type.length:
            raise ValueError(f"{column}: max_length {max_length} exceeds {column.type!r}")
        return StringField(
            column.name,
            max_length,
            min_length=spec.min_length,
            pattern=spec.pattern,
            multiline=spec.multiline,
            required=required,
            description=spec.description,
        )
    if isinstance(column.type, Integer):
        low, high = _integer_range(column)
        return IntegerField(
            column.name,
            low if spec.minimum is None else spec.minimum,
            high if spec.maximum is None else spec.maximum,
            nonzero=spec.nonzero,
            required=required,
            description=spec.description,
        )
    raise ValueError(f"{column}: no API field kind for {column.type!r}")


def _read_only_schema(column: Column[Any]) -> dict[str, Any]:
    if isinstance(column.type, DateTime):
        return dict(TIMESTAMP)
    if isinstance(column.type, Integer):
        low, high = _integer_range(column)
        return {"type": "integer", "minimum": 1 if column.primary_key else low, "maximum": high}
    if isinstance(column.type, String):
        return {"type": "string"}
    raise ValueError(f"{column}: no JSON representation for {column.type!r}")


def _to_json(column: Column[Any]) -> Callable[[Any], Any] | None:
    return datetime.isoformat if isinstance(column.type, DateTime) else None


@dataclass(frozen=True)
class Resource:
    """Everything the API says about one model."""

    name: str
    columns: tuple[Column[Any], ...]
    create: BodySchema
    patch: BodySchema
    response_schema: dict[str, Any]
    unique: dict[
        str, tuple[str, ...]
    ]  # unique constraint name (as the server reports it) -> columns
    _encoders: tuple[tuple[str, Callable[[Any], Any] | None], ...]

    def to_json(self, row: Any) -> dict[str, Any]:
        """A row selected with `columns` as its API representation."""
        result: dict[str, Any] = {}
        for key, encode in self._encoders:
            value = getattr(row, key)
            result[key] = value if encode is None else encode(value)
        return result

    def schemas(self) -> dict[str, dict[str, Any]]:
        """OpenAPI component schemas: the answer, the create body and the patch body."""
        return {
            self.name: self.response_schema,
            self.create.name: self.create.json_schema(),
            self.patch.name: self.patch.json_schema(),
        }


def resource(model: type[DeclarativeBase], name: str) -> Resource:
    """The API of `model`: columns with `info=api(...)` are writable, every column is answered."""
    table = model.__table__
    assert isinstance(table, Table)
    columns = tuple(table.columns)
    writable = [(c, c.info[API_INFO]) for c in columns if API_INFO in c.info]
    create = tuple(request_field(c, spec, required=not _has_default(c)) for c, spec in writable)
    patch = tuple(request_field(c, spec, required=False) for c, spec in writable if spec.patchable)
    fields = {f.name: f for f in create}
    response_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": [c.name for c in columns],
        "properties": {
            c.name: fields[c.name].json_schema() if c.name in fields else _read_only_schema(c)
            for c in columns
        },
    }
    return Resource(
        name=name,
        columns=columns,
        create=BodySchema(f"{name}Create", create),
        patch=BodySchema(f"{name}Patch", patch, min_properties=1),
        response_schema=response_schema,
        unique={
            str(constraint.name): tuple(column.name for column in constraint.columns)
            for constraint in table.constraints
            if isinstance(constraint, UniqueConstraint)
        },
        _encoders=tuple((c.key, _to_json(c)) for c in columns),
    )


PRODUCT = resource(Product, "Product")
