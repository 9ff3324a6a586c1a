"""The served OpenAPI document is the contract, checked by property-based testing.

Requests are generated from the document the API serves: each operation's parameters and body,
every input either drawn from its schema or (one at a time) from anything at all. The document
itself, read with OpenAPI's regular expression semantics (ECMA-262), is the oracle: a request it
accepts must be accepted (2xx, or a documented 404/409/422 that depends on the data), a request
it rejects must get 400 (404 for an id no product can have), and no request may get a status
the operation does not document, or a 5xx. Every JSON answer must match its documented schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no types-jsonschema in the lock yet
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from inventory_api.routes import ROUTES

from tests.api.apiprocess import ApiProcess, api_env, start_api
from tests.api.helpers import create_product
from tests.support.postgres import PostgresServer

MAX_EXAMPLES = 30  # per operation: about 200 requests in all, a few seconds
DATA_DEPENDENT = {404, 409, 422}  # refusals a valid request may get from the current state
# Opaque by contract: only values the API handed out mean anything (tested in test_products).
OPAQUE_PARAMETERS = {"cursor"}
OPERATIONS = [(route.path, method) for route in ROUTES for method in route.methods]
INTEGER_LITERAL = re.compile(r"-?[0-9]+")
HEADER_SAFE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
PATH_SAFE = st.characters(exclude_characters="/?#%.", codec="utf-8")


def _ecma(pattern: str) -> str:
    """ECMA-262 `$` ends the string; Python's `$` also matches before a final newline."""
    return re.sub(r"(?<!\\)\$$", r"\\Z", pattern)


def _pattern(
    validator: Any, pattern: str, instance: Any, _schema: Any
) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and re.search(_ecma(pattern), instance) is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


Oracle = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _pattern})


def _inline(node: Any, components: dict[str, Any]) -> Any:
    """`node` with every local $ref replaced by its target (the document has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            *_, kind, name = node["$ref"].split("/")
            return _inline(components[kind][name], components)
        return {key: _inline(value, components) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(value, components) for value in node]
    return node


def valid_values(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values `schema` accepts. Objects are assembled here from their properties:
    hypothesis-jsonschema's own object strategy relies on Hypothesis internals that newer
    Hypothesis releases changed; its scalar strategies are sound."""
    if schema.get("type") != "object":
        return from_schema(schema)
    properties = {name: valid_values(sub) for name, sub in schema["properties"].items()}
    required = set(schema.get("required", ()))
    minimum = schema.get("minProperties", 0)
    return st.fixed_dictionaries(
        {name: strategy for name, strategy in properties.items() if name in required},
        optional={name: strategy for name, strategy in properties.items() if name not in required},
    ).filter(lambda body: len(body) >= minimum)


def edges(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values at and just past the schema's limits, where validators and documents drift."""
    if schema.get("type") == "integer":
        low, high = schema.get("minimum", -(2**63)), schema.get("maximum", 2**63)
        return st.sampled_from([low - 1, low, high, high + 1, 0, 1.0, 2.5, -0.0, True, "1"])
    if schema.get("type") == "string":
        longest = schema.get("maxLength", 300)
        return st.sampled_from(
            ["", "\x00", "a\n", "a\tb", "\x85", " a ", "a" * longest + " ", "a" * (longest + 1)]
        )
    return st.nothing()


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=5,
)


@dataclass(frozen=True)
class Input:
    """One parameter or the body: where it goes, its schema, how to draw valid and wild values."""

    name: str
    where: str  # path, query, header or body
    schema: dict[str, Any]
    required: bool

    def valid(self) -> st.SearchStrategy[Any]:
        return valid_values(self.schema)

    def wild(self) -> st.SearchStrategy[Any]:
        if self.where == "header":
            return st.text(HEADER_SAFE, max_size=300).map(str.strip)
        if self.where == "body":
            return JSON_VALUES | self.valid().flatmap(self._mutated)
        if self.where == "path":  # one segment: no separators, no dot segments to normalise
            return st.text(PATH_SAFE, max_size=30) | st.integers().map(str)
        return st.text(max_size=300) | st.integers().map(str) | edges(self.schema).map(str)

    def _mutated(self, body: Any) -> st.SearchStrategy[Any]:
        if not isinstance(body, dict) or not body:
            return st.just(body)
        properties = self.schema["properties"]
        replaced = st.sampled_from(sorted(properties)).flatmap(
            lambda key: (JSON_VALUES | edges(properties[key])).map(
                lambda value: {**body, key: value}
            )
        )
        return replaced | st.just({**body, "unknown_field": 1}) | st.just(body | {"": None})

    def accepts(self, value: Any) -> bool:
        """Whether the document accepts `value` as it arrives on the wire."""
        if self.where != "body" and self.schema.get("type") == "integer":
            if not INTEGER_LITERAL.fullmatch(value):
                return False
            value = int(value)
        return bool(Oracle(self.schema).is_valid(value))


@dataclass(frozen=True)
class Operation:
    """A documented operation and its inputs."""

    path: str
    method: str
    inputs: tuple[Input, ...]
    responses: dict[str, Any] = field(repr=False)


def _operation(document: dict[str, Any], path: str, method: str) -> Operation:
    components = document["components"]
    spec = _inline(document["paths"][path][method], components)
    inputs = [
        Input(p["name"], p["in"], p["schema"], p.get("required", False))
        for p in spec.get("parameters", [])
        if p["name"] not in OPAQUE_PARAMETERS
    ]
    if "requestBody" in spec:
        body = spec["requestBody"]
        schema = body["content"]["application/json"]["schema"]
        inputs.append(Input("body", "body", schema, body.get("required", False)))
    return Operation(path, method, tuple(inputs), spec["responses"])


@dataclass(frozen=True)
class Request:
    """A generated request and what the document says about each of its inputs."""

    values: dict[str, Any]
    invalid: frozenset[str]  # where an input is outside its schema: path, query, header, body


@st.composite
def requests_for(draw: st.DrawFn, operation: Operation, ids: tuple[int, ...]) -> Request:
    corrupt = draw(st.sampled_from([None, *operation.inputs]))
    values: dict[str, Any] = {}
    invalid: set[str] = set()
    for item in operation.inputs:
        if item is corrupt:
            value = draw(item.wild())
        elif item.where == "path":
            value = draw(st.sampled_from(ids) | item.valid())
        elif not item.required and draw(st.booleans()):
            continue  # an optional input left out is valid
        else:
            value = draw(item.valid())
        if item.where != "body":
            value = str(value)
        if item.where == "header" and (value != value.strip() or not value.isprintable()):
            continue  # not transportable as a header value: HTTP trims or refuses it
        values[item.name] = value
        if not item.accepts(value):
            invalid.add(item.where)
    return Request(values, frozenset(invalid))


@pytest.fixture(scope="module")
def contract_api(
    postgres_server: PostgresServer, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiProcess]:
    """An API of its own: generated deletes and adjustments must not disturb other tests."""
    database = postgres_server.create_database(template=template_db)
    process = start_api(api_env(database), tmp_path_factory.mktemp("contract-logs"))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def document(contract_api: ApiProcess) -> dict[str, Any]:
    served: dict[str, Any] = contract_api.request("GET", "/api/v1/openapi.json").json()
    return served


@pytest.fixture
def product_ids(contract_api: ApiProcess) -> tuple[int, ...]:
    """Products that exist (new for each operation: deletes take them away), so generated ids
    reach the success paths too."""
    return tuple(create_product(contract_api, quantity=50)["id"] for _ in range(3))


@cache
def _response_validator(schema_json: str) -> Any:
    return Oracle(json.loads(schema_json))


def _send(api: ApiProcess, operation: Operation, request: Request) -> Any:
    url = operation.path
    params: dict[str, str] = {}
    headers: dict[str, str] = {}
    body: Any = None
    has_body = False
    for item in operation.inputs:
        if item.name not in request.values:
            continue
        value = request.values[item.name]
        if item.where == "path":
            url = url.replace("{" + item.name + "}", value)
        elif item.where == "query":
            params[item.name] = value
        elif item.where == "header":
            headers[item.name] = value
        else:
            body, has_body = value, True
    data = None
    if has_body:  # serialised here: requests would send no body at all for json=None
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    return api.request(operation.method.upper(), url, params=params, headers=headers, data=data)


def _check(operation: Operation, request: Request, response: Any) -> None:
    status = response.status_code
    context = f"{operation.method.upper()} {operation.path} {request} -> {status} {response.text}"
    assert status < 500, context
    assert str(status) in operation.responses, f"undocumented status: {context}"
    if "path" in request.invalid:
        assert status == 404, context
    elif request.invalid:
        assert status == 400, context
    else:
        assert status < 300 or status in DATA_DEPENDENT, context
    content = operation.responses[str(status)].get("content", {})
    if "application/json" in content:
        schema = content["application/json"]["schema"]
        validator = _response_validator(json.dumps(schema))
        errors = [error.message for error in validator.iter_errors(response.json())]
        assert not errors, f"answer does not match its documented schema: {errors} {context}"


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=str)
def test_generated_requests_get_the_answers_the_document_promises(
    contract_api: ApiProcess,
    document: dict[str, Any],
    product_ids: tuple[int, ...],
    path: str,
    method: str,
) -> None:
    operation = _operation(document, path, method)

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(requests_for(operation, product_ids))
    def check(request: Request) -> None:
        response = _send(contract_api, operation, request)
        event(f"status {response.status_code}")
        _check(operation, request, response)

    check()


def test_the_oracle_reads_patterns_as_ecma_262() -> None:
    """A trailing newline does not satisfy `$` in OpenAPI's regular expressions."""
    schema = {"type": "string", "pattern": "^(?:[a-z]+)$"}
    assert Oracle(schema).is_valid("abc")
    assert not Oracle(schema).is_valid("abc\n")
    assert jsonschema.Draft202012Validator(schema).is_valid("abc\n")  # Python's reading
