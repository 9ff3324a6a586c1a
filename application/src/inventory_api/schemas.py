"""Request body schemas: one declaration drives both validation and the OpenAPI document.

Why: hand-written validators and a hand-written OpenAPI file drift apart. Here each body is a
list of typed fields with limits; `parse` enforces them and `json_schema` documents exactly them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from inventory_api.errors import ApiError

# Integers stay exact in every JSON client (JavaScript numbers are doubles).
MAX_SAFE_INTEGER = 2**53 - 1
MAX_QUANTITY = 10**12


@dataclass(frozen=True)
class StringField:
    """A JSON string with length limits, an optional pattern and a control-character policy."""

    name: str
    max_length: int
    min_length: int = 1
    pattern: str | None = None
    multiline: bool = False
    required: bool = True
    description: str = ""

    def check(self, value: Any) -> list[str]:
        """Problems with `value`, empty when valid."""
        if not isinstance(value, str):
            return [f"{self.name}: must be a string"]
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return [f"{self.name}: contains an unpaired surrogate"]
        allowed = {"\n", "\t"} if self.multiline else set()
        if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
            return [f"{self.name}: contains control characters"]
        if not self.min_length <= len(value) <= self.max_length:
            return [f"{self.name}: length must be {self.min_length}..{self.max_length}"]
        if self.pattern is not None and re.fullmatch(self.pattern, value) is None:
            return [f"{self.name}: must match {self.pattern}"]
        return []

    def json_schema(self) -> dict[str, Any]:
        """The OpenAPI 3.1 (JSON Schema 2020-12) description of this field."""
        schema: dict[str, Any] = {
            "type": "string",
            "minLength": self.min_length,
            "maxLength": self.max_length,
        }
        if self.pattern is not None:
            schema["pattern"] = f"^{self.pattern}$"
        if self.description:
            schema["description"] = self.description
        return schema


@dataclass(frozen=True)
class IntegerField:
    """A JSON integer (never a boolean or a float) within [minimum, maximum]."""

    name: str
    minimum: int
    maximum: int
    nonzero: bool = False
    required: bool = True
    description: str = ""

    def check(self, value: Any) -> list[str]:
        """Problems with `value`, empty when valid."""
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{self.name}: must be an integer"]
        if not self.minimum <= value <= self.maximum:
            return [f"{self.name}: must be between {self.minimum} and {self.maximum}"]
        if self.nonzero and value == 0:
            return [f"{self.name}: must not be zero"]
        return []

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
        """The validated fields of `body`, or ApiError 400 listing every problem."""
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_body", "request body must be a JSON object")
        problems = [f"{key}: unknown field" for key in body if key not in self.by_name]
        for spec in self.fields:
            if spec.name in body:
                problems += spec.check(body[spec.name])
            elif spec.required:
                problems.append(f"{spec.name}: is required")
        if not problems and len(body) < self.min_properties:
            problems.append(f"at least {self.min_properties} field(s) required")
        if problems:
            raise ApiError(400, "validation_failed", "request body is invalid", problems)
        return dict(body)

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


SKU_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"


def _product_fields(*, required: bool) -> tuple[Field, ...]:
    return (
        StringField("sku", 64, pattern=SKU_PATTERN, required=required, description="Unique"),
        StringField("name", 200, required=required),
        StringField("description", 2000, min_length=0, multiline=True, required=False),
        IntegerField("price_cents", 0, MAX_SAFE_INTEGER, required=required),
    )


PRODUCT_CREATE = BodySchema(
    "ProductCreate",
    (
        *_product_fields(required=True),
        IntegerField(
            "quantity", 0, MAX_QUANTITY, required=False, description="Initial stock, default 0"
        ),
    ),
)
PRODUCT_PATCH = BodySchema("ProductPatch", _product_fields(required=False), min_properties=1)
STOCK_ADJUSTMENT = BodySchema(
    "StockAdjustment",
    (
        IntegerField("delta", -MAX_QUANTITY, MAX_QUANTITY, nonzero=True),
        StringField("reason", 200),
    ),
)
BODY_SCHEMAS = (PRODUCT_CREATE, PRODUCT_PATCH, STOCK_ADJUSTMENT)
