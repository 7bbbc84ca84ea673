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
  :class:`GatewayProxy` on the bridge gateway passes the TLS bytes through to it.

Our Python example pods run the same way, so all pods share one network.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import shutil
import socket
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


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class GatewayProxy:
    """Pass TCP through from ``host``:``port`` (the bridge gateway) to the API server."""

    def __init__(self, host: str, upstream: tuple[str, int]) -> None:
        self.host = host
        self.port = 0
        self._upstream = upstream
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> GatewayProxy:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        dst.close()
        self._writers.discard(dst)
