"""`up`, `down` and `status` of the single-node cluster: idempotent, everything by PID/name.

`up` starts what is not running (etcd, API server, controller manager, scheduler, containerd,
kubelet, kube-proxy, kube-router's NetworkPolicy firewall) and waits for each to be healthy,
then for the node to be Ready, then applies the add-ons (CoreDNS, local-path provisioner,
Traefik on 127.0.0.1:8088, kube-state-metrics) and writes `ingress-url` and `networkpolicy`.
`down` stops them in reverse, kills the pods' containers, and removes the host objects the
cluster made (iptables chains, bridge, network namespaces, mounts); `--purge` also deletes
the state directory (certificates, etcd data, images).
"""

from __future__ import annotations

import datetime
import json
import shutil
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from pipelines.containers.base import ensure_base_image
from pipelines.localcluster import (
    addons,
    components,
    images,
    ingress,
    kuberouter,
    network,
    pki,
    render,
    statemetrics,
)
from pipelines.localcluster.build import artifact_dir, build_all
from pipelines.localcluster.catalog import (
    COREDNS,
    ETCD,
    KUBE_ROUTER,
    KUBE_STATE_METRICS,
    KUBERNETES,
    LOCAL_PATH,
    TRAEFIK,
)
from pipelines.localcluster.processes import Service, run, running_pid, start, stop, wait_for
from pipelines.localcluster.settings import (
    API_PORT,
    API_SERVICE_IP,
    ETCD_CLIENT_PORT,
    HOST_OWNER,
    NODE_NAME,
    PAUSE_IMAGE,
    Paths,
    default_state_dir,
    detect_node_ip,
)
from pipelines.toolchain.links import ensure_file
from pipelines.toolchain.paths import Layout

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
}
SERVICE_ORDER = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "containerd",
    "kubelet",
    "kube-proxy",
)


def check_host() -> None:
    """Fail with the install command when a Debian package the cluster needs is missing."""
    missing = sorted({pkg for path, pkg in HOST_BINARIES.items() if not Path(path).exists()})
    if missing:
        raise RuntimeError(
            "missing host packages for the local cluster; install them with:\n"
            f"  apt-get install -y {' '.join(missing)}"
        )


def _https_ok(url: str, paths: Paths, cert: str) -> bool:
    context = ssl.create_default_context(cafile=str(paths.pki / "ca.crt"))
    context.load_cert_chain(str(paths.pki / f"{cert}.crt"), str(paths.pki / f"{cert}.key"))
    try:
        with urllib.request.urlopen(url, context=context, timeout=3) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def kubectl(paths: Paths, *args: str, check: bool = True, stdin: str | None = None) -> str:
    argv = [str(artifact_dir(KUBERNETES, Layout.default()) / "kubectl")]
    argv += [f"--kubeconfig={paths.admin_kubeconfig}", *args]
    return run(argv, check=check, stdin=stdin, timeout=300).stdout


def node_ready(paths: Paths, since: datetime.datetime | None = None) -> bool:
    """True when the node is Ready (and, with `since`, has reported so after that moment)."""
    output = kubectl(paths, "get", "node", NODE_NAME, "-o", "json", check=False)
    try:
        conditions = json.loads(output)["status"]["conditions"]
    except (ValueError, KeyError):
        return False
    for condition in conditions:
        if condition["type"] != "Ready" or condition["status"] != "True":
            continue
        heartbeat = datetime.datetime.fromisoformat(condition["lastHeartbeatTime"])
        return since is None or heartbeat >= since
    return False


def write_configs(paths: Paths, node_ip: str) -> None:
    """PKI, kubeconfigs and component configs; unchanged files are not rewritten."""
    pki.ensure_pki(paths.pki, NODE_NAME, node_ip, API_SERVICE_IP)
    server = f"https://127.0.0.1:{API_PORT}"
    for user, cert in CONTROL_PLANE_USERS.items():
        text = render.kubeconfig(
            server, paths.pki / "ca.crt", user, paths.pki / f"{cert}.crt", paths.pki / f"{cert}.key"
        )
        ensure_file(paths.kubeconfig(user), text)
    ensure_file(paths.admin_kubeconfig, paths.kubeconfig("admin").read_text(encoding="utf-8"))
    ensure_file(paths.config / "containerd.toml", render.containerd_config(paths))
    ensure_file(paths.config / "kubelet.json", render.kubelet_config(paths))
    ensure_file(paths.config / "kube-proxy.json", render.kube_proxy_config(paths))
    ensure_file(
        paths.cni_conf_dir / "10-inventory-localcluster.conflist", render.cni_conflist(paths)
    )
    for directory in (paths.kubelet_root, paths.cni_ipam_dir, paths.logs, paths.pids):
        directory.mkdir(parents=True, exist_ok=True)
    paths.etcd_data.mkdir(mode=0o700, parents=True, exist_ok=True)


class Ready:
    """A readiness probe that also fails fast when the process died."""

    def __init__(self, paths: Paths, name: str, probe: Callable[[], bool]) -> None:
        self.paths, self.name, self.probe = paths, name, probe

    def __call__(self) -> bool:
        if running_pid(self.paths.pids, self.name) is None:
            log = self.paths.logs / f"{self.name}.log"
            tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
            raise RuntimeError(
                f"{self.name} exited; log {log}:\n" + "\n".join(f"  | {t}" for t in tail)
            )
        return self.probe()


def _start_and_wait(service: Service, paths: Paths, ready: Ready, timeout: float) -> None:
    started = time.monotonic()
    was_running = running_pid(paths.pids, service.name) is not None
    start(service, paths.pids, paths.logs)
    wait_for(ready, service.name, timeout, paths.logs / f"{service.name}.log")
    state = "running" if was_running else f"started in {time.monotonic() - started:.1f} s"
    print(f"{service.name}: {state}", flush=True)


def claim_host(paths: Paths) -> None:
    """Record this state directory as the owner of the host-wide objects; refuse a second one."""
    owner = HOST_OWNER.read_text(encoding="utf-8").strip() if HOST_OWNER.exists() else None
    if owner and Path(owner) != paths.root:
        other = Paths(Path(owner))
        if any(running_pid(other.pids, name) is not None for name in SERVICE_ORDER):
            raise RuntimeError(
                f"another local cluster (state {owner}) is running on this host; stop it first:\n"
                f"  INVENTORY_CLUSTER_STATE={owner} python -m pipelines.localcluster down"
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
    write_configs(paths, node_ip)

    def healthz(url: str, cert: str = "admin") -> Callable[[], bool]:
        return lambda: _https_ok(url, paths, cert)

    _start_and_wait(
        components.etcd(etcd_bin, paths),
        paths,
        Ready(
            paths,
            "etcd",
            healthz(f"https://127.0.0.1:{ETCD_CLIENT_PORT}/health", "apiserver-etcd-client"),
        ),
        60,
    )
    api = f"https://127.0.0.1:{API_PORT}"
    _start_and_wait(
        components.kube_apiserver(kube_bin, paths, node_ip),
        paths,
        Ready(paths, "kube-apiserver", healthz(f"{api}/readyz")),
        180,
    )
    for service in (
        components.kube_controller_manager(kube_bin, paths),
        components.kube_scheduler(kube_bin, paths),
    ):
        _start_and_wait(service, paths, Ready(paths, service.name, lambda: True), 5)
    _start_and_wait(
        components.containerd(paths),
        paths,
        Ready(paths, "containerd", lambda: images.ctr(paths, "version").returncode == 0),
        60,
    )
    if not images.is_imported(paths, PAUSE_IMAGE):
        images.import_image(paths, images.build_pause_image())
        print(f"imported {PAUSE_IMAGE}", flush=True)
    # etcd keeps the last status: only a heartbeat from this kubelet proves the node Ready.
    kubelet_since = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    if running_pid(paths.pids, "kubelet") is not None:
        kubelet_since = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    _start_and_wait(
        components.kubelet(kube_bin, paths, node_ip),
        paths,
        Ready(paths, "kubelet", lambda: node_ready(paths, kubelet_since)),
        180,
    )
    _start_and_wait(
        components.kube_proxy(kube_bin, paths), paths, Ready(paths, "kube-proxy", lambda: True), 5
    )
    start_networkpolicy(paths)
    install_coredns(paths)
    install_local_path(paths)
    install_ingress(paths)
    install_state_metrics(paths)
    print(f"cluster up: KUBECONFIG={paths.admin_kubeconfig}", flush=True)


def start_networkpolicy(paths: Paths) -> None:
    """kube-router's firewall; when it cannot run, the cluster runs on without enforcement and
    `networkpolicy` says why (a failed start's chains are removed so traffic is not cut)."""
    kubectl(paths, "apply", "-f", "-", stdin=addons.manifest_list(kuberouter.rbac_manifests()))
    service = kuberouter.service(artifact_dir(KUBE_ROUTER, Layout.default()), paths)
    hooked = Ready(
        paths, "kube-router", lambda: kuberouter.is_hooked(network.save_table("iptables", "filter"))
    )
    try:
        _start_and_wait(service, paths, hooked, 120)
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


def install_state_metrics(paths: Paths) -> None:
    """kube-state-metrics in kube-system: image imported once, applied, rollout awaited."""
    program = artifact_dir(KUBE_STATE_METRICS, Layout.default()) / "kube-state-metrics"
    images.ensure_scratch_image(paths, statemetrics.IMAGE, program)
    kubectl(paths, "apply", "-f", "-", stdin=addons.manifest_list(statemetrics.manifests()))
    started = time.monotonic()
    deployment = f"deployment/{statemetrics.NAME}"
    kubectl(paths, "-n", statemetrics.NAMESPACE, "rollout", "status", deployment, "--timeout=180s")
    print(f"kube-state-metrics: available ({time.monotonic() - started:.1f} s)", flush=True)


def install_ingress(paths: Paths) -> None:
    """Traefik on the host loopback: image imported once, manifests applied, rollout awaited,
    then `ingress-url` written for the pipeline."""
    program = artifact_dir(TRAEFIK, Layout.default()) / "traefik"
    images.ensure_scratch_image(paths, ingress.TRAEFIK_IMAGE, program)
    kubectl(paths, "apply", "-f", "-", stdin=addons.manifest_list(ingress.manifests()))
    started = time.monotonic()
    kubectl(
        paths, "-n", ingress.NAMESPACE, "rollout", "status", "deployment/traefik", "--timeout=180s"
    )
    # After a restart the Deployment still reports the old pod available: wait for an answer
    # through the host port itself before telling the pipeline where the ingress is.
    log = paths.logs / "kubelet.log"
    wait_for(lambda: _answers(ingress.INGRESS_URL), f"Traefik at {ingress.INGRESS_URL}", 120, log)
    ensure_file(paths.ingress_url, f"{ingress.INGRESS_URL}\n")
    print(f"traefik: available at {ingress.INGRESS_URL} ({time.monotonic() - started:.1f} s)")


def install_local_path(paths: Paths) -> None:
    """Dynamic hostPath volumes under the state directory; the default StorageClass."""
    if not images.is_imported(paths, addons.HELPER_IMAGE):
        images.import_image(paths, ensure_base_image())
    program = artifact_dir(LOCAL_PATH, Layout.default()) / "local-path-provisioner"
    images.ensure_scratch_image(paths, addons.LOCAL_PATH_IMAGE, program)
    paths.volumes.mkdir(parents=True, exist_ok=True)
    manifests = addons.local_path_manifests(str(paths.volumes))
    kubectl(paths, "apply", "-f", "-", stdin=addons.manifest_list(manifests))
    started = time.monotonic()
    kubectl(
        paths,
        "-n",
        addons.LOCAL_PATH_NAMESPACE,
        "rollout",
        "status",
        "deployment/local-path-provisioner",
        "--timeout=180s",
    )
    print(f"local-path-provisioner: available ({time.monotonic() - started:.1f} s)", flush=True)


def install_coredns(paths: Paths) -> None:
    """Cluster DNS: image imported once, manifests applied (idempotent), rollout awaited."""
    program = artifact_dir(COREDNS, Layout.default()) / "coredns"
    images.ensure_scratch_image(paths, addons.COREDNS_IMAGE, program)
    kubectl(paths, "apply", "-f", "-", stdin=addons.manifest_list(addons.coredns_manifests()))
    started = time.monotonic()
    kubectl(paths, "-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=180s")
    print(f"coredns: available ({time.monotonic() - started:.1f} s)", flush=True)


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
    for name in ("kube-router", "kube-proxy", "kubelet"):
        _stop(name, paths)
    netns: list[str] = []
    if running_pid(paths.pids, "containerd") is not None:
        started = time.monotonic()
        netns = _pod_netns(paths)
        _remove_containers(paths)
        print(f"containers: removed in {time.monotonic() - started:.1f} s", flush=True)
    for name in (
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
    """Print each process's PID (or `stopped`) and the node's readiness; True when all up."""
    paths = paths or Paths(default_state_dir())
    healthy = True
    for name in SERVICE_ORDER:
        pid = running_pid(paths.pids, name)
        healthy &= pid is not None
        print(f"{name:<24} {'pid ' + str(pid) if pid else 'stopped'}")
    ready = healthy and node_ready(paths)
    print(f"{'node ' + NODE_NAME:<24} {'Ready' if ready else 'not ready'}")
    router = running_pid(paths.pids, "kube-router")
    recorded = (
        paths.networkpolicy.read_text(encoding="utf-8").strip()
        if paths.networkpolicy.exists()
        else ""
    )
    if router is not None and recorded == kuberouter.ENFORCED:
        print(f"{'NetworkPolicy':<24} enforced (kube-router pid {router})")
    else:
        reason = recorded.removeprefix("not-enforced: ") if recorded else "kube-router stopped"
        print(f"{'NetworkPolicy':<24} not enforced ({reason})")
    url = (
        paths.ingress_url.read_text(encoding="utf-8").strip()
        if paths.ingress_url.exists()
        else None
    )
    print(f"{'ingress':<24} {url or 'not installed'}")
    return ready
