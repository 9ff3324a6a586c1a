"""Strict Kubernetes schema validation of rendered objects, offline, with kubernetes-validate."""

from __future__ import annotations

import kubernetes_validate

from tests.helm.rendering import Rendered

# Custom resources have no upstream schema; they are checked by their own tests.
CUSTOM_KINDS = {
    "ServiceMonitor",
    "PrometheusRule",
    "SecretProviderClass",
    "Certificate",
    "Issuer",
    "NginxIngressController",
    "Middleware",  # against Traefik's own CRD schema in test_ingress_limits
}


def validate_all(rendered: Rendered, minor: str) -> list[str]:
    """Every problem strict validation finds in the non-custom objects, one line each."""
    problems = []
    for doc in rendered.docs:
        if doc["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, f"{minor}.0", strict=True)
        except kubernetes_validate.ValidationError as error:
            where = f"{doc['kind']}/{doc['metadata']['name']}"
            problems.append(f"{where}: {'.'.join(map(str, error.path))}: {error.message}")
    return problems
