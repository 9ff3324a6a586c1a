"""The service layer speaks in domain errors; conflicts are recognised by SQLSTATE and name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from inventory_api import domain, service
from inventory_api.domain import Conflict, DomainError, NotFound
from inventory_api.errors import ApiError
from inventory_api.handlers.base import http_error
from inventory_api.resources import PRODUCT
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool
from tornado.web import HTTPError

from tests.api.helpers import unique_sku
from tests.support.postgres import Database


@pytest.fixture
def session(fresh_db: Database) -> Iterator[Session]:
    engine = create_engine(fresh_db.sqlalchemy_url, poolclass=NullPool)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _product(sku: str, **fields: object) -> dict[str, object]:
    return {"sku": sku, "name": "Widget", "price_cents": 100, **fields}


def test_a_duplicate_sku_is_a_conflict_named_after_the_constraint_columns(
    session: Session,
) -> None:
    sku = unique_sku()
    service.create_product(session, _product(sku))
    session.commit()
    with pytest.raises(Conflict) as raised:
        service.create_product(session, _product(sku))
    assert raised.value.code == "duplicate_sku"
    assert not isinstance(raised.value, HTTPError)


def test_an_error_that_merely_quotes_the_constraint_name_is_not_a_conflict(
    session: Session,
) -> None:
    """A check violation echoes the failing row (here a name equal to the unique constraint's)
    in its DETAIL: reading the message text would call it a duplicate; SQLSTATE does not."""
    (constraint,) = PRODUCT.unique
    with pytest.raises(DBAPIError) as raised:
        service.create_product(session, _product(unique_sku(), name=constraint, price_cents=-1))
    assert constraint in str(raised.value.orig)
    assert not isinstance(raised.value, Conflict)


def test_a_unique_violation_of_another_constraint_is_not_a_duplicate_sku(
    session: Session,
) -> None:
    """The primary key is unique too, but no client can choose it: not a client conflict."""
    taken = service.create_product(session, _product(unique_sku()))
    session.commit()
    with pytest.raises(DBAPIError, match="products_pkey"):
        service.create_product(session, _product(unique_sku(), id=taken["id"]))


def test_the_service_reports_absence_as_a_domain_error(session: Session) -> None:
    with pytest.raises(NotFound):
        service.delete_product(session, 2**62)
    with pytest.raises(NotFound):
        service.patch_product(session, 2**62, {"name": "x"})


def _all_subclasses(kind: type[DomainError]) -> list[type[DomainError]]:
    direct = kind.__subclasses__()
    return direct + [nested for sub in direct for nested in _all_subclasses(sub)]


@pytest.mark.parametrize("kind", _all_subclasses(DomainError), ids=lambda kind: kind.__name__)
def test_every_domain_error_has_an_http_status(kind: type[DomainError]) -> None:
    error = kind("thing") if kind is NotFound else kind("code", "message")
    answer = http_error(error)
    assert isinstance(answer, ApiError)
    assert 400 <= answer.status_code < 500
    assert answer.code == error.code


def test_a_domain_error_without_an_http_status_is_refused_loudly() -> None:
    class Unmapped(domain.DomainError):
        """Declared without a status: the mapping must not guess one."""

    with pytest.raises(LookupError, match="Unmapped"):
        http_error(Unmapped("code", "message"))
