"""Typed JSON fields and bodies: one declaration drives both validation and the OpenAPI document.

Why: hand-written validators and a hand-written OpenAPI file drift apart. Each field enforces
exactly what its `json_schema` says, nothing more: lengths and ranges, integers by value (JSON
Schema counts 2.0 as the integer 2), and one regular expression per string that is written into
the document as it is checked. Product bodies are not declared here: `resources.py` derives them
from the model's columns, which carry an `ApiColumn` in their `info`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from inventory_api.errors import ApiError

# Integers stay exact in every JSON client (JavaScript numbers are doubles).
MAX_SAFE_INTEGER = 2**53 - 1
MAX_QUANTITY = 10**12
SKU_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"
# Unicode category Cc (C0 and C1 controls), as JSON Schema (ECMA-262) and Python both read it.
SINGLE_LINE = r"[^\u0000-\u001f\u007f-\u009f]*"
MULTILINE = r"[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*"  # tab and newline allowed
API_INFO = "api"


class FieldProblem(ValueError):
    """One field's value is invalid; str() is the message shown to the client."""


@dataclass(frozen=True)
class StringField:
    """A JSON string with length limits and one pattern it must match as a whole.

    Without an explicit pattern, control characters are refused (newline and tab allowed when
    multiline). An explicit pattern replaces that policy, so it must not admit controls itself.
    """

    name: str
    max_length: int
    min_length: int = 1
    pattern: str | None = None
    multiline: bool = False
    required: bool = True
    description: str = ""

    @property
    def regex(self) -> str:
        """The pattern the whole value must match."""
        if self.pattern is not None:
            return self.pattern
        return MULTILINE if self.multiline else SINGLE_LINE

    def convert(self, value: Any) -> str:
        """`value` if valid, else FieldProblem."""
        if not isinstance(value, str):
            raise FieldProblem(f"{self.name}: must be a string")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise FieldProblem(f"{self.name}: contains an unpaired surrogate") from None
        if not self.min_length <= len(value) <= self.max_length:
            raise FieldProblem(f"{self.name}: length must be {self.min_length}..{self.max_length}")
        if re.fullmatch(self.regex, value) is None:
            if self.pattern is None:
                raise FieldProblem(f"{self.name}: contains control characters")
            raise FieldProblem(f"{self.name}: must match {self.pattern}")
        return value

    def json_schema(self) -> dict[str, Any]:
        """The OpenAPI 3.1 (JSON Schema 2020-12) description of this field."""
        schema: dict[str, Any] = {
            "type": "string",
            "minLength": self.min_length,
            "maxLength": self.max_length,
            "pattern": f"^(?:{self.regex})$",
        }
        if self.description:
            schema["description"] = self.description
        return schema


@dataclass(frozen=True)
class IntegerField:
    """A JSON number with an integral value (never a boolean) within [minimum, maximum]."""

    name: str
    minimum: int
    maximum: int
    nonzero: bool = False
    required: bool = True
    description: str = ""

    def convert(self, value: Any) -> int:
        """The integer `value` stands for, else FieldProblem. Range first: converting a huge
        exponent (1e999999999) to an int would cost what it says."""
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise FieldProblem(f"{self.name}: must be an integer")
        if not self.minimum <= value <= self.maximum:  # also refuses NaN and infinities
            raise FieldProblem(f"{self.name}: must be between {self.minimum} and {self.maximum}")
        if value != int(value):
            raise FieldProblem(f"{self.name}: must be an integer")
        if self.nonzero and value == 0:
            raise FieldProblem(f"{self.name}: must not be zero")
        return int(value)

    def json_schema(self) -> dict[str, Any]:
        """The OpenAPI 3.1 (JSON Schema 2020-12) description of this field."""
        schema: dict[str, Any] = {
            "type": "integer",
            "minimum": self.minimum,
            "maximum": self.maximum,
        }
        if self.nonzero:
            schema["not"] = {"const": 0}
        if self.description:
            schema["description"] = self.description
        return schema


Field = StringField | IntegerField


@dataclass(frozen=True)
class BodySchema:
    """A JSON object with exactly these fields; unknown fields are errors."""

    name: str
    fields: tuple[Field, ...]
    min_properties: int = 0
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    def parse(self, body: Any) -> dict[str, Any]:
        """The validated, converted fields of `body`, or ApiError 400 listing every problem."""
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_body", "request body must be a JSON object")
        problems = [f"{key}: unknown field" for key in body if key not in self.by_name]
        values: dict[str, Any] = {}
        for spec in self.fields:
            if spec.name in body:
                try:
                    values[spec.name] = spec.convert(body[spec.name])
                except FieldProblem as problem:
                    problems.append(str(problem))
            elif spec.required:
                problems.append(f"{spec.name}: is required")
        if not problems and len(body) < self.min_properties:
            problems.append(f"at least {self.min_properties} field(s) required")
        if problems:
            raise ApiError(400, "validation_failed", "request body is invalid", problems)
        return values

    def json_schema(self) -> dict[str, Any]:
        """The OpenAPI component schema of this body."""
        schema: dict[str, Any] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {f.name: f.json_schema() for f in self.fields},
        }
        required = [f.name for f in self.fields if f.required]
        if required:
            schema["required"] = required
        if self.min_properties:
            schema["minProperties"] = self.min_properties
        return schema


@dataclass(frozen=True)
class ApiColumn:
    """How a model column appears in request bodies. Column facts are not repeated here: the
    type picks the field kind, String(n) the maximum length, an integer type its range, and a
    column without a default is required on create."""

    min_length: int = 1
    max_length: int | None = None
    pattern: str | None = None
    multiline: bool = False
    minimum: int | None = None
    maximum: int | None = None
    nonzero: bool = False
    description: str = ""
    patchable: bool = True


def api(**options: Any) -> dict[str, ApiColumn]:
    """The column `info` that makes a model column part of the API (writable by clients).

    Columns without it (ids, timestamps) are read-only: answered, never accepted."""
    return {API_INFO: ApiColumn(**options)}


STOCK_ADJUSTMENT = BodySchema(
    "StockAdjustment",
    (
        IntegerField("delta", -MAX_QUANTITY, MAX_QUANTITY, nonzero=True),
        StringField("reason", 200),
    ),
)
