"""The security part of the OpenAPI document, derived from the same rule the guard enforces.

Why: a client generator or reviewer reads which operations need which role from the document;
taking it from `required_role` means the document cannot promise less or more than the API does.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from inventory_api.auth.guard import REALM, required_role
from inventory_api.auth.settings import AuthSettings
from inventory_api.routes import ROUTES, Route

SCHEME = "bearerAuth"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
CHALLENGE_HEADER = {
    "WWW-Authenticate": {
        "description": f'RFC 6750 challenge, e.g. Bearer realm="{REALM}", error="invalid_token"',
        "schema": {"type": "string"},
    }
}
AUTH_RESPONSES = {
    "401": "Missing, expired or otherwise invalid bearer token",
    "403": "Valid token without the role this operation needs",
}


def secure_document(
    document: dict[str, Any], settings: AuthSettings, routes: Iterable[Route] = ROUTES
) -> dict[str, Any]:
    """`document` plus the bearer scheme and each operation's requirement (unchanged when
    authentication is off: the document then says what is true, that no token is needed)."""
    if not settings.enabled:
        return document
    secured = copy.deepcopy(document)
    components = secured.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": f"Access token from {settings.issuer} for audience "
        f"{', '.join(settings.audiences)}; app roles in the `roles` claim.",
    }
    responses = components.setdefault("responses", {})
    for status, description in AUTH_RESPONSES.items():
        responses[f"Error{status}"] = {
            "description": description,
            "headers": CHALLENGE_HEADER,
            "content": {"application/json": {"schema": ERROR_REF}},
        }
    for route in routes:
        for method, operation in secured["paths"][route.path].items():
            role = required_role(settings, route.handler.public, method)
            if role is None:
                operation["security"] = []
                continue
            operation["security"] = [{SCHEME: [role]}]
            for status in AUTH_RESPONSES:
                operation["responses"][status] = {"$ref": f"#/components/responses/Error{status}"}
    return secured
