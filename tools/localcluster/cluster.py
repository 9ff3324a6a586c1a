"""`up`, `down` and `status` of the single-node cluster: idempotent, everything by PID/name.

`up` starts what is not running (etcd, API server, controller manager, scheduler, containerd,
the image registry, kubelet, kube-proxy, kube-router's NetworkPolicy firewall) and waits for
each to be healthy,
then for the node to be Ready, then applies the add-ons (CoreDNS, local-path provisioner,
Traefik on 127.0.0.1:8088, kube-state-metrics, metrics-server) and writes `ingress-url` and
`networkpolicy`. A running process whose command line differs from the one `up` would start
(e.g. new API server flags), or whose configuration file changed, is restarted with the new one.
`down` stops them in reverse, kills the pods' containers, and removes the host objects the
cluster made (iptables chains, bridge, network namespaces, mounts); `--purge` also deletes
the state directory (certificates, etcd data, images).
"""

from __future__ import annotations

import datetime
import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tools.containers.base import ensure_base_image
from tools.localcluster import (
    addons,
    components,
    flux,
    gitserver,
    images,
    ingress,
    kuberouter,
    metricsserver,
    network,
    pki,
    readiness,
    registry,
    render,
    statemetrics,
)
from tools.localcluster.build import artifact_dir, build_all
from tools.localcluster.catalog import (
    COREDNS,
    ETCD,
    FLUX,
    KUBE_ROUTER,
    KUBE_STATE_METRICS,
    KUBERNETES,
    LOCAL_PATH,
    METRICS_SERVER,
    REGISTRY,
    TRAEFIK,
)
from tools.localcluster.processes import (
    Service,
    run,
    running_pid,
    runs_as,
    start,
    stop,
    wait_for,
)
from tools.localcluster.readiness import Signal, kubectl
from tools.localcluster.settings import (
    API_PORT,
    API_SERVICE_IP,
    HOST_OWNER,
    NODE_NAME,
    PAUSE_IMAGE,
    Paths,
    default_state_dir,
    detect_node_ip,
)
from tools.toolchain.gobuild import module_source
from tools.toolchain.links import ensure_file
from tools.toolchain.paths import Layout

Since = datetime.datetime | None  # when this kubelet started: pods must have run since

HOST_BINARIES = {
    "/usr/bin/containerd": "containerd",
    "/usr/sbin/runc": "runc",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
    "/usr/sbin/conntrack": "conntrack",
    "/usr/lib/cni/portmap": "containernetworking-plugins",
    "/usr/sbin/ipset": "ipset",
}
CONTROL_PLANE_USERS = {
    "admin": "admin",
    "controller-manager": "controller-manager",
    "scheduler": "scheduler",
    "kubelet": "kubelet-client",
    "kube-proxy": "kube-proxy",
    "kube-router": "kube-router",
    flux.KUBECONFIG_USER: flux.CLIENT_CERT.name,
}
SERVICE_ORDER = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "containerd",
    "registry",
    "kubelet",
    "kube-proxy",
    "git-server",
    *flux.CONTROLLERS,
)


def check_host() -> None:
    """Fail with the install command when a Debian package the cluster needs is missing."""
    missing = sorted({pkg for path, pkg in HOST_BINARIES.items() if not Path(path).exists()})
    if missing:
        raise RuntimeError(
            "missing host packages for the local cluster; install them with:\n"
            f"  apt-get install -y {' '.join(missing)}"
        )


def write_configs(paths: Paths, node_ip: str) -> set[str]:
    """PKI, kubeconfigs and component configs; unchanged files are not rewritten. Returns the
    services whose configuration file changed (a running one must restart to read it)."""
    pki.ensure_pki(paths.pki, NODE_NAME, node_ip, API_SERVICE_IP)
    server = f"https://127.0.0.1:{API_PORT}"
    for user, cert in CONTROL_PLANE_USERS.items():
        text = render.kubeconfig(
            server, paths.pki / "ca.crt", user, paths.pki / f"{cert}.crt", paths.pki / f"{cert}.key"
        )
        ensure_file(paths.kubeconfig(user), text)
    ensure_file(paths.admin_kubeconfig, paths.kubeconfig("admin").read_text(encoding="utf-8"))
    ca = pki.ensure_ca(paths.pki)
    pki.ensure_cert(paths.pki, metricsserver.SERVING_CERT, ca)
    pki.ensure_cert(paths.pki, registry.SERVING_CERT, ca)
    pki.ensure_cert(paths.pki, gitserver.SERVING_CERT, ca)
    pki.ensure_cert(paths.pki, flux.CLIENT_CERT, ca)
    gitserver.ensure_accounts(paths)
    gitserver.ensure_repository(paths)
    flux.prepare_dirs(paths)
    registry.ensure_trust(paths)
    account = registry.ensure_credentials(
        paths, artifact_dir(REGISTRY, Layout.default()) / "registry"
    )
    changed = set()
    containerd_toml = paths.config / "containerd.toml"
    containerd_text = render.containerd_config(paths, account.username, account.password)
    if ensure_file(containerd_toml, containerd_text):
        changed.add("containerd")
    containerd_toml.chmod(0o600)  # it holds the registry account's password
    if ensure_file(paths.config / "registry.yml", registry.config(paths)):
        changed.add("registry")
    ensure_file(paths.config / "kubelet.json", render.kubelet_config(paths))
    ensure_file(paths.config / "kube-proxy.json", render.kube_proxy_config(paths))
    ensure_file(
        paths.cni_conf_dir / "10-inventory-localcluster.conflist", render.cni_conflist(paths)
    )
    for directory in (paths.kubelet_root, paths.cni_ipam_dir, paths.logs, paths.pids):
        directory.mkdir(parents=True, exist_ok=True)
    paths.etcd_data.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths.registry_data.mkdir(mode=0o700, parents=True, exist_ok=True)
    return changed


def _start_and_wait(
    service: Service, paths: Paths, signal: Signal, reconfigured: bool = False
) -> None:
    started = time.monotonic()
    was_running = running_pid(paths.pids, service.name) is not None
    changed = was_running and (reconfigured or not runs_as(paths.pids, service))
    if changed:  # new flags (e.g. the aggregation layer's) reach a running cluster this way
        stop(service.name, paths.pids)
    start(service, paths.pids, paths.logs)
    readiness.wait(signal, paths)
    took = f"{time.monotonic() - started:.1f} s"
    if changed:
        state = f"restarted with its new command line or configuration in {took}"
    elif was_running:
        state = "running"
    else:
        state = f"started in {took}"
    print(f"{service.name}: {state}, ready", flush=True)


def claim_host(paths: Paths) -> None:
    """Record this state directory as the owner of the host-wide objects; refuse a second one."""
    owner = HOST_OWNER.read_text(encoding="utf-8").strip() if HOST_OWNER.exists() else None
    if owner and Path(owner) != paths.root:
        other = Paths(Path(owner))
        if any(running_pid(other.pids, name) is not None for name in SERVICE_ORDER):
            raise RuntimeError(
                f"another local cluster (state {owner}) is running on this host; stop it first:\n"
                f"  INVENTORY_CLUSTER_STATE={owner} python -m tools.localcluster down"
            )
    HOST_OWNER.parent.mkdir(parents=True, exist_ok=True)
    HOST_OWNER.write_text(f"{paths.root}\n", encoding="utf-8")


def owns_host(paths: Paths) -> bool:
    if not HOST_OWNER.exists():
        return False
    return Path(HOST_OWNER.read_text(encoding="utf-8").strip()) == paths.root


def up(paths: Paths | None = None) -> None:
    """Bring the cluster up (building missing binaries first); idempotent."""
    paths = paths or Paths(default_state_dir())
    check_host()
    claim_host(paths)
    build_all()
    layout = Layout.default()
    kube_bin, etcd_bin = artifact_dir(KUBERNETES, layout), artifact_dir(ETCD, layout)
    node_ip = detect_node_ip()
    reconfigured = write_configs(paths, node_ip)

    # etcd keeps the last status: only a heartbeat from this kubelet proves the node Ready.
    kubelet_since = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    if runs_as(paths.pids, components.kubelet(kube_bin, paths, node_ip)):  # kept running
        kubelet_since = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    signals = {s.component: s for s in readiness.process_signals(paths, kubelet_since)}
    for service in (
        components.etcd(etcd_bin, paths),
        components.kube_apiserver(kube_bin, paths, node_ip),
        components.kube_controller_manager(kube_bin, paths),
        components.kube_scheduler(kube_bin, paths),
        components.containerd(paths),
        registry.service(artifact_dir(REGISTRY, layout), paths),
    ):
        _start_and_wait(service, paths, signals[service.name], service.name in reconfigured)
    if not images.is_imported(paths, PAUSE_IMAGE):
        images.import_image(paths, images.build_pause_image())
        print(f"imported {PAUSE_IMAGE}", flush=True)
    for service in (
        components.kubelet(kube_bin, paths, node_ip),
        components.kube_proxy(kube_bin, paths),
    ):
        _start_and_wait(service, paths, signals[service.name])
    start_networkpolicy(paths)
    install_coredns(paths, kubelet_since)
    install_local_path(paths, kubelet_since)
    install_ingress(paths, kubelet_since)
    install_state_metrics(paths, kubelet_since)
    install_metrics_server(paths, kubelet_since)
    install_flux(paths, signals)
    print(f"cluster up: KUBECONFIG={paths.admin_kubeconfig}", flush=True)


ADDON_WORKLOADS = (  # (namespace, Deployment), in install order
    ("kube-system", "coredns"),
    (addons.LOCAL_PATH_NAMESPACE, "local-path-provisioner"),
    (ingress.NAMESPACE, "traefik"),
    (statemetrics.NAMESPACE, statemetrics.NAME),
    (metricsserver.NAMESPACE, metricsserver.NAME),
)


def _kube_router_hooked() -> bool:
    return kuberouter.is_hooked(network.save_table("iptables", "filter"))


def start_networkpolicy(paths: Paths) -> None:
    """kube-router's firewall; when it cannot run, the cluster runs on without enforcement and
    `networkpolicy` says why (a failed start's chains are removed so traffic is not cut)."""
    kubectl(paths, "apply", "-f", "-", stdin=addons.manifest_list(kuberouter.rbac_manifests()))
    service = kuberouter.service(artifact_dir(KUBE_ROUTER, Layout.default()), paths)
    hooked = Signal(
        "kube-router", "its NetworkPolicy chains hooked into iptables", _kube_router_hooked, 120
    )
    try:
        _start_and_wait(service, paths, hooked)
        state = kuberouter.ENFORCED
    except RuntimeError as error:
        _stop("kube-router", paths)
        network.clean_iptables(only=network.KUBE_ROUTER_CHAINS)
        network.clean_ipsets()
        state = kuberouter.not_enforced(str(error))
        print(f"NetworkPolicy: not enforced: {error}", flush=True)
    ensure_file(paths.networkpolicy, f"{state}\n")


def _answers(url: str) -> bool:
    """True when an HTTP server answers at `url` (any status: 404 is Traefik's "no route")."""
    try:
        with urllib.request.urlopen(url, timeout=3):  # noqa: S310 (our loopback http)
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def _apply_and_wait(
    paths: Paths, manifests: list[dict[str, Any]], namespace: str, name: str, since: Since
) -> None:
    kubectl(paths, "apply", "-f", "-", stdin=addons.manifest_list(manifests))
    waited = readiness.wait_workload(paths, namespace, name, since)
    print(f"{name}: available ({waited:.1f} s)", flush=True)


def install_state_metrics(paths: Paths, since: Since) -> None:
    """kube-state-metrics in kube-system: image imported once, applied, Available awaited."""
    program = artifact_dir(KUBE_STATE_METRICS, Layout.default()) / "kube-state-metrics"
    images.ensure_scratch_image(paths, statemetrics.IMAGE, program)
    manifests = statemetrics.manifests()
    _apply_and_wait(paths, manifests, statemetrics.NAMESPACE, statemetrics.NAME, since)


def install_metrics_server(paths: Paths, since: Since) -> None:
    """metrics-server in kube-system: image imported once, applied with its serving certificate,
    Available awaited, then its APIService Available (the aggregator reached it)."""
    program = artifact_dir(METRICS_SERVER, Layout.default()) / "metrics-server"
    images.ensure_scratch_image(paths, metricsserver.IMAGE, program)
    name = metricsserver.SERVING_CERT.name
    manifests = metricsserver.manifests(
        (paths.pki / f"{pki.CA_NAME}.crt").read_bytes(),
        (paths.pki / f"{name}.crt").read_bytes(),
        (paths.pki / f"{name}.key").read_bytes(),
    )
    _apply_and_wait(paths, manifests, metricsserver.NAMESPACE, metricsserver.NAME, since)
    waited = readiness.wait_api_service(paths, metricsserver.API_SERVICE)
    print(f"apiservice/{metricsserver.API_SERVICE}: available ({waited:.1f} s)", flush=True)


def install_flux(paths: Paths, signals: dict[str, Signal]) -> None:
    """The git server, then Flux: its namespace and identity, its CRDs (from the modules the
    build compiled) applied and Established, then the controllers, each awaited Ready."""
    _start_and_wait(gitserver.service(paths), paths, signals["git-server"])
    layout = Layout.default()
    crds = flux.crd_files(layout)
    kubectl(paths, "apply", "-f", "-", stdin=addons.manifest_list(flux.manifests()))
    kubectl(
        paths, "apply", "--server-side", "--field-manager=inventory-localcluster",
        *(arg for path in crds for arg in ("-f", str(path))),
    )  # fmt: skip
    names = [f"crd/{name}" for name in flux.crd_names(crds)]
    kubectl(paths, "wait", "--for=condition=Established", "--timeout=60s", *names)
    for service in flux.services(artifact_dir(FLUX, layout), paths):
        _start_and_wait(service, paths, signals[service.name])


def install_ingress(paths: Paths, since: Since) -> None:
    """Traefik on the host loopback: image imported once, its CRDs (from the module the build
    compiled) applied and Established, manifests applied, Available awaited, then an answer
    through the host port, then `ingress-url` written."""
    layout = Layout.default()
    program = artifact_dir(TRAEFIK, layout) / "traefik"
    images.ensure_scratch_image(paths, ingress.TRAEFIK_IMAGE, program)
    started = time.monotonic()
    source = module_source(TRAEFIK.module, TRAEFIK.module_version, layout)
    crds = ingress.crd_manifests(source)
    kubectl(
        paths, "apply", "--server-side", "--field-manager=inventory-localcluster", "-f", "-",
        stdin=addons.manifest_list(crds),
    )  # fmt: skip
    names = [f"crd/{name}" for name in ingress.crd_names()]
    kubectl(paths, "wait", "--for=condition=Established", "--timeout=60s", *names)
    _apply_and_wait(paths, ingress.manifests(), ingress.NAMESPACE, "traefik", since)
    log = paths.logs / "kubelet.log"
    wait_for(lambda: _answers(ingress.INGRESS_URL), f"Traefik at {ingress.INGRESS_URL}", 120, log)
    ensure_file(paths.ingress_url, f"{ingress.INGRESS_URL}\n")
    print(f"traefik: answers at {ingress.INGRESS_URL} ({time.monotonic() - started:.1f} s)")


def install_local_path(paths: Paths, since: Since) -> None:
    """Dynamic hostPath volumes under the state directory; the default StorageClass."""
    if not images.is_imported(paths, addons.HELPER_IMAGE):
        images.import_image(paths, ensure_base_image())
    program = artifact_dir(LOCAL_PATH, Layout.default()) / "local-path-provisioner"
    images.ensure_scratch_image(paths, addons.LOCAL_PATH_IMAGE, program)
    paths.volumes.mkdir(parents=True, exist_ok=True)
    manifests = addons.local_path_manifests(str(paths.volumes))
    _apply_and_wait(paths, manifests, addons.LOCAL_PATH_NAMESPACE, "local-path-provisioner", since)


def install_coredns(paths: Paths, since: Since) -> None:
    """Cluster DNS: image imported once, manifests applied (idempotent), Available awaited."""
    program = artifact_dir(COREDNS, Layout.default()) / "coredns"
    images.ensure_scratch_image(paths, addons.COREDNS_IMAGE, program)
    _apply_and_wait(paths, addons.coredns_manifests(), "kube-system", "coredns", since)


def _pod_netns(paths: Paths) -> list[str]:
    """Network namespaces of the pod sandboxes containerd knows (to remove after it stops)."""
    found: list[str] = []
    listing = images.ctr(paths, "containers", "list", "--quiet")
    for container in listing.stdout.split() if listing.returncode == 0 else []:
        info = images.ctr(paths, "containers", "info", container)
        try:
            namespaces = json.loads(info.stdout)["Spec"]["linux"]["namespaces"]
        except (ValueError, KeyError, TypeError):
            continue
        found += [n["path"] for n in namespaces if n.get("type") == "network" and n.get("path")]
    return sorted(set(found))


def _remove_containers(paths: Paths) -> None:
    """Kill and delete every container (pods die with the node; shims exit with their tasks)."""
    listing = images.ctr(paths, "containers", "list", "--quiet")
    for container in listing.stdout.split() if listing.returncode == 0 else []:
        images.ctr(paths, "tasks", "kill", "--signal", "SIGKILL", container)
        for _ in range(50):  # the task is gone once its shim has reaped it
            if images.ctr(paths, "tasks", "delete", container).returncode == 0:
                break
            if container not in images.ctr(paths, "tasks", "list", "--quiet").stdout.split():
                break
            time.sleep(0.1)
        images.ctr(paths, "containers", "delete", container)


def _stop(name: str, paths: Paths) -> None:
    started = time.monotonic()
    if stop(name, paths.pids):
        print(f"{name}: stopped in {time.monotonic() - started:.1f} s", flush=True)


def down(paths: Paths | None = None, purge: bool = False) -> None:
    """Stop everything and remove the host objects the cluster made; idempotent."""
    paths = paths or Paths(default_state_dir())
    for state_file in (paths.ingress_url, paths.networkpolicy):  # they describe a live cluster
        state_file.unlink(missing_ok=True)
    for name in (*reversed(flux.CONTROLLERS), "git-server", "kube-router", "kube-proxy", "kubelet"):
        _stop(name, paths)
    netns: list[str] = []
    if running_pid(paths.pids, "containerd") is not None:
        started = time.monotonic()
        netns = _pod_netns(paths)
        _remove_containers(paths)
        print(f"containers: removed in {time.monotonic() - started:.1f} s", flush=True)
    for name in (
        "registry",
        "containerd",
        "kube-scheduler",
        "kube-controller-manager",
        "kube-apiserver",
        "etcd",
    ):
        _stop(name, paths)
    network.remove_netns(netns)
    network.unmount_all(paths.root)
    if owns_host(paths):  # never touch the chains and bridge of another state dir's cluster
        kube_proxy = artifact_dir(KUBERNETES, Layout.default()) / "kube-proxy"
        if kube_proxy.exists():
            run([str(kube_proxy), "--cleanup"], check=False)
        removed = network.clean_iptables()
        sets = network.clean_ipsets()  # once no rule refers to them
        network.delete_bridge()
        HOST_OWNER.unlink()
        print(
            f"host cleaned: {removed} iptables commands, {sets} ipsets, {len(netns)} netns",
            flush=True,
        )
    if purge and paths.root.exists():
        shutil.rmtree(paths.root)
        print(f"removed {paths.root}", flush=True)


def status(paths: Paths | None = None) -> bool:
    """Print each component's readiness signal as it holds now; True only when all hold.

    The same signals `up` waits for: a running process whose signal fails is reported as
    not ready with what it waits for, never as up."""
    paths = paths or Paths(default_state_dir())
    healthy = True
    for signal in readiness.process_signals(paths):
        pid = running_pid(paths.pids, signal.component)
        ready = pid is not None and signal.probe()
        healthy &= ready
        state = (
            "stopped"
            if pid is None
            else f"pid {pid}, "
            + ("ready" if ready else f"not ready (waits for {signal.waits_for})")
        )
        print(f"{signal.component:<24} {state}")
    for namespace, name in ADDON_WORKLOADS:
        problem = (
            readiness.deployment_problem(paths, namespace, name) if healthy else "cluster down"
        )
        healthy &= problem is None
        print(f"{namespace + '/' + name:<40} {'available' if problem is None else problem}")
    api_service = metricsserver.API_SERVICE
    problem = readiness.api_service_status(paths, api_service) if healthy else "cluster down"
    healthy &= problem is None
    print(f"{'apiservice/' + api_service:<40} {'available' if problem is None else problem}")
    router = running_pid(paths.pids, "kube-router")
    recorded = (
        paths.networkpolicy.read_text(encoding="utf-8").strip()
        if paths.networkpolicy.exists()
        else ""
    )
    if router is not None and recorded == kuberouter.ENFORCED and _kube_router_hooked():
        print(f"{'NetworkPolicy':<24} enforced (kube-router pid {router})")
    else:
        reason = recorded.removeprefix("not-enforced: ") if recorded else "kube-router stopped"
        print(f"{'NetworkPolicy':<24} not enforced ({reason})")
    url = (
        paths.ingress_url.read_text(encoding="utf-8").strip()
        if paths.ingress_url.exists()
        else None
    )
    answers = url is not None and _answers(url)
    healthy &= answers
    answer = "not installed" if url is None else f"{url} ({'answers' if answers else 'silent'})"
    print(f"{'ingress':<24} {answer}")
    return healthy
