"""The database is reachable only inside the cluster: ClusterIP Services, no route from outside."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from tests.smoke.checks import DATABASE_PORT, exposure_problems
from tests.smoke.kube import backend_services
from tests.smoke.settings import SmokeSettings

CONNECT_TIMEOUT = 3.0


def test_database_services_are_cluster_ip_only(database_services: list[Any]) -> None:
    """No NodePort, LoadBalancer, ExternalName, external IPs or load balancer address."""
    problems = [p for service in database_services for p in exposure_problems(service)]
    assert not problems, "database exposed beyond the cluster: " + "; ".join(problems)


def test_no_ingress_routes_to_the_database(
    kube: Any, settings: SmokeSettings, database_services: list[Any]
) -> None:
    """No Ingress of the namespace has a database Service as a backend."""
    names = {s.metadata.name for s in database_services}
    ingresses = kube.networking.list_namespaced_ingress(settings.namespace).items
    routed = {i.metadata.name: backend_services(i) & names for i in ingresses}
    offending = {ingress: sorted(hit) for ingress, hit in routed.items() if hit}
    assert not offending, f"Ingresses route to the database: {offending}"


def outside_addresses(kube: Any, settings: SmokeSettings, api_ingress: Any) -> set[str]:
    """Every address a client outside the cluster could aim at: the nodes' addresses, the
    ingress URL's host, and the Ingress load balancer's addresses."""
    hosts = {urlsplit(settings.ingress_url).hostname or ""}
    for node in kube.core.list_node().items:
        hosts |= {a.address for a in node.status.addresses or []}
    for entry in api_ingress.status.load_balancer.ingress or [] if api_ingress.status else []:
        hosts |= {entry.ip or "", entry.hostname or ""}
    addresses = set()
    for host in hosts - {""}:
        try:
            addresses |= {
                info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
            }
        except socket.gaierror:
            continue  # a node Hostname that does not resolve from here is no way in either
    return {str(address) for address in addresses}


def connects(address: str, port: int) -> bool:
    """True when a TCP connection to address:port succeeds within CONNECT_TIMEOUT."""
    try:
        socket.create_connection((address, port), timeout=CONNECT_TIMEOUT).close()
    except OSError:
        return False
    return True


def test_database_ports_unreachable_from_outside(
    kube: Any, settings: SmokeSettings, api_ingress: Any, database_service: Any
) -> None:
    """TCP to the database port (and any nodePort) on every node and ingress address is refused
    or times out."""
    service_ports = database_service.spec.ports or []
    ports = (
        {DATABASE_PORT}
        | {p.port for p in service_ports}
        | {p.node_port for p in service_ports if p.node_port}
    )
    addresses = outside_addresses(kube, settings, api_ingress)
    assert addresses, "found no node or ingress address to check"
    targets = sorted((address, port) for address in addresses for port in ports)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda target: connects(*target), targets))
    open_ = [
        f"{address}:{port}" for (address, port), ok in zip(targets, results, strict=True) if ok
    ]
    assert not open_, (
        f"database ports answer from outside the cluster at {', '.join(open_)} "
        f"(checked {len(targets)} address:port pairs)"
    )
