"""Product fields are declared once, on the model: bodies, answers and the document follow."""

from __future__ import annotations

from typing import Any

import pytest
from inventory_api.models import Product
from inventory_api.resources import resource
from inventory_api.schemas import API_INFO, api
from sqlalchemy import BigInteger, Boolean, Identity, MetaData, String, inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tests.api.apiprocess import ApiProcess
from tests.api.helpers import create_product


@pytest.fixture(scope="module")
def schemas(api: ApiProcess) -> dict[str, Any]:
    document: dict[str, Any] = api.request("GET", "/api/v1/openapi.json").json()
    return dict(document["components"]["schemas"])


def test_the_answer_lists_every_column_and_the_bodies_every_api_column(
    api: ApiProcess, schemas: dict[str, Any]
) -> None:
    columns = [column.name for column in inspect(Product).columns]
    writable = {c.name for c in inspect(Product).columns if API_INFO in c.info}
    patchable = {n for n in writable if inspect(Product).columns[n].info[API_INFO].patchable}
    assert schemas["Product"]["required"] == columns
    assert set(create_product(api)) == set(columns)
    assert set(schemas["ProductCreate"]["properties"]) == writable
    assert set(schemas["ProductPatch"]["properties"]) == patchable


def test_create_requires_exactly_the_columns_without_a_default(schemas: dict[str, Any]) -> None:
    required = {
        c.name
        for c in inspect(Product).columns
        if API_INFO in c.info and c.default is None and c.server_default is None
    }
    assert set(schemas["ProductCreate"]["required"]) == required


def test_string_lengths_come_from_the_column_type(schemas: dict[str, Any]) -> None:
    sku = inspect(Product).columns["sku"]
    assert isinstance(sku.type, String)
    assert schemas["ProductCreate"]["properties"]["sku"]["maxLength"] == sku.type.length


def _model(column_name: str, **column: Any) -> type[DeclarativeBase]:
    """A throwaway model with one API column, on a declarative base of its own."""

    class Scratch(DeclarativeBase):
        metadata = MetaData()

    attributes: dict[str, Any] = {
        "__tablename__": f"scratch_{column_name}",
        "id": mapped_column(BigInteger, Identity(), primary_key=True),
        column_name: mapped_column(**column),
        "__annotations__": {"id": Mapped[int], column_name: Mapped[Any]},
    }
    return type("ScratchModel", (Scratch,), attributes)


@pytest.mark.parametrize(
    ("column", "problem"),
    [
        ({"type_": Boolean, "info": api()}, "no API field kind"),
        ({"type_": String(10), "nullable": True, "info": api()}, "API columns must be NOT NULL"),
        ({"type_": String(), "info": api()}, "needs max_length"),
        ({"type_": String(8), "info": api(max_length=9)}, "exceeds String"),
    ],
    ids=["boolean", "nullable", "unbounded-string", "longer-than-the-column"],
)
def test_a_column_the_api_cannot_represent_fails_with_its_name(
    column: dict[str, Any], problem: str
) -> None:
    model = _model("flag", **column)
    with pytest.raises(ValueError, match=rf"scratch_flag\.flag: .*{problem}"):
        resource(model, "Scratch")
