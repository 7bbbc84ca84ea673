"""Pods that any in-cluster client takes for real ones: a network, mount and UTS namespace each.

udhos/kubegroup's Go examples find themselves and the API server the way a container does,
with nothing to configure: ``os.Hostname()`` resolved through ``/etc/hosts`` is the pod's
own address, client-go's ``rest.InClusterConfig`` reads ``KUBERNETES_SERVICE_HOST``/``PORT``
and the fixed ``/var/run/secrets/kubernetes.io/serviceaccount``, and both listen on the
fixed ports 8080 and 5000. So each pod process runs:

- in a network namespace of its own on the test's bridge (:class:`~tests.support.netns.Topology`),
  holding the pod IP, so every pod has its own ports 8080 and 5000;
- in a mount and UTS namespace of its own (``unshare --mount --uts``), with a tmpfs on
  ``/run`` and the pod's token, ``ca.crt`` and ``namespace`` bind-mounted at the fixed path,
  an ``/etc/hosts`` bind-mounted over the real one that maps the pod's name to its IP and
  ``kubernetes.default.svc`` to the bridge gateway, and the hostname set to the pod's name;
- with ``KUBERNETES_SERVICE_HOST=kubernetes.default.svc``: the API server's certificate
  names it, so TLS verifies as in a cluster. The API server listens on 127.0.0.1 only; a
  :class:`~tests.support.proxy.TCPProxy` on the bridge gateway passes the TLS bytes through.

Our Python example pods run the same way, so all pods share one network.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

SA_MOUNT = "/run/secrets/kubernetes.io/serviceaccount"  # /var/run is /run
API_HOST = "kubernetes.default.svc"  # a DNS name in the API server's certificate


def hosts_file(path: Path, *, pod: str, ip: str, gateway: str) -> Path:
    """Write the pod's ``/etc/hosts``: itself, and the API service at the gateway."""
    path.write_text(
        f"127.0.0.1\tlocalhost\n{ip}\t{pod}\n{gateway}\t{API_HOST} kubernetes.default kubernetes\n"
    )
    return path


def pod_prefix(
    netns: list[str], *, pod: str, sa_dir: Path, hosts: Path, workdir: Path
) -> list[str]:
    """argv prefix: run the rest as pod ``pod`` (its netns, mounts, hostname, cwd)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise RuntimeError("unshare (util-linux) is needed to give each pod its own mounts")
    q = shlex.quote
    script = (
        "mount -t tmpfs -o size=1m,mode=755 pod-run /run"
        f" && mkdir -p {SA_MOUNT}"
        f" && mount --bind -o ro {q(str(sa_dir))} {SA_MOUNT}"
        f" && mount --bind -o ro {q(str(hosts))} /etc/hosts"
        f" && echo {q(pod)} > /proc/sys/kernel/hostname"
        f" && cd {q(str(workdir))}"
        ' && exec "$@"'
    )
    return [
        *netns,
        unshare,
        "--mount",
        "--uts",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        pod,
    ]
