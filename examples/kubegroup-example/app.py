"""kubegroup example: an aiohttp app whose pods share one groupcache, peers found by kubegroup.

Port of udhos/kubegroup's ``examples/kubegroup-example``. Every pod runs:

- the groupcache peer protocol on ``GROUPCACHE_PORT`` (5000), reachable by the other pods
  at ``http://$POD_IP:5000``;
- a pod watch (``kubegroup.update_peers``) that keeps the ring equal to the Ready pods
  matching ``LABEL_SELECTOR``;
- the app on ``APP_PORT`` (8080): ``GET /get?key=K`` (the value, loaded by one pod of the
  cluster only), ``GET /healthz`` (the readiness probe: 200 once the first pod list
  reached the ring and while discovery is healthy) and ``GET /stats`` (peers, group
  stats and backend calls, as JSON).

SIGTERM (or SIGINT) stops the watch, then the app server; the peer server serves on for
``DRAIN_SECONDS`` (the other pods, which have dropped this one from their rings, take its
cached copies meanwhile: the warm handoff), or until a second signal, then stops.

Environment: ``POD_IP``, ``POD_NAME`` and ``POD_NAMESPACE`` (downward API), ``APP_PORT``,
``GROUPCACHE_PORT``, ``LABEL_SELECTOR``, ``LISTEN_HOST`` (default ``0.0.0.0``; the test
binds each instance to its own loopback address), ``BACKEND_DELAY`` (seconds, 0.2),
``DISCOVERY_GRACE`` (seconds discovery may fail before the pod is unready, 60),
``GROUPCACHE_RING`` (the ring preset, one of :data:`RINGS`, default ``mmh3``) and
``GROUPCACHE_GROUP`` (the group's name, default ``example``) and ``DRAIN_SECONDS``
(default 0; the Deployment sets 5). To share one ring with
udhos/kubegroup's Go examples, run with ``LABEL_SELECTOR=app=miniapi``,
``GROUPCACHE_GROUP=files`` and ``GROUPCACHE_RING=mailgun`` (``kubegroup-example``,
modernprogram v2) or ``groupcache-go`` (``kubegroup-example3``, groupcache-go v3).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import os
import signal
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

import groupcache
import kubegroup

log = logging.getLogger("kubegroup-example")

APP_PORT = 8080
GROUPCACHE_PORT = 5000
LABEL_SELECTOR = "app=kubegroup-example"
GROUP_NAME = "example"
CACHE_BYTES = 1 << 20  # 1 MiB, as in the Go example
TTL_SECONDS = 60.0  # as in the Go example
RINGS = {
    "mmh3": "Python peers only (the default)",
    "mailgun": "mailgun/groupcache v2 and modernprogram v2 peers",
    "groupcache-go": "groupcache-go v3 peers",
    "golang": "golang/groupcache peers",
}
"""``GROUPCACHE_RING`` values: groupcache's ring presets, and whose Go peers each matches."""


class ConfigError(ValueError):
    """An environment variable has a value the app cannot run with."""


@dataclasses.dataclass(frozen=True)
class Config:
    """The app's settings, read from the environment."""

    app_port: int = APP_PORT
    groupcache_port: int = GROUPCACHE_PORT
    label_selector: str = LABEL_SELECTOR
    listen_host: str = "0.0.0.0"
    backend_delay: float = 0.2
    discovery_grace: float = 60.0
    ring: str = "mmh3"
    group_name: str = GROUP_NAME
    drain: float = 0.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Config:
        """Read ``APP_PORT``, ``GROUPCACHE_PORT``, ``LABEL_SELECTOR``, ``LISTEN_HOST``...

        Raises:
            ConfigError: ``GROUPCACHE_RING`` names no ring preset, or ``GROUPCACHE_GROUP``
                is empty or holds a ``/``.
        """
        ring = environ.get("GROUPCACHE_RING", "mmh3")
        if ring not in RINGS:
            raise ConfigError(f"GROUPCACHE_RING={ring!r}: choose one of {', '.join(RINGS)}")
        group_name = environ.get("GROUPCACHE_GROUP", GROUP_NAME)
        if not group_name or "/" in group_name:
            raise ConfigError(f"GROUPCACHE_GROUP={group_name!r}: a non-empty name without '/'")
        raw_drain = environ.get("DRAIN_SECONDS", "0")
        try:
            drain = float(raw_drain)
        except ValueError:
            drain = -1.0
        if not drain >= 0:  # NaN too
            raise ConfigError(f"DRAIN_SECONDS={raw_drain!r}: seconds, 0 or more")
        return cls(
            app_port=int(environ.get("APP_PORT", APP_PORT)),
            groupcache_port=int(environ.get("GROUPCACHE_PORT", GROUPCACHE_PORT)),
            label_selector=environ.get("LABEL_SELECTOR", LABEL_SELECTOR),
            listen_host=environ.get("LISTEN_HOST", "0.0.0.0"),
            backend_delay=float(environ.get("BACKEND_DELAY", "0.2")),
            discovery_grace=float(environ.get("DISCOVERY_GRACE", "60")),
            ring=ring,
            group_name=group_name,
            drain=drain,
        )


class SlowBackend:
    """The origin behind the cache: slow, and counting its calls per key."""

    def __init__(self, delay: float, name: str) -> None:
        self.delay = delay
        self.name = name
        self.calls: collections.Counter[str] = collections.Counter()

    async def load(self, key: str) -> groupcache.Value:
        """The group's getter: runs on the key's owner only, once per miss cluster-wide."""
        self.calls[key] += 1
        await asyncio.sleep(self.delay)  # a slow database or API
        data = f"value of {key!r}, loaded by {self.name}".encode()
        return groupcache.Value(data, expire_at=time.time() + TTL_SECONDS)


@dataclasses.dataclass
class State:
    """What the handlers need besides the backend."""

    group: groupcache.Group
    pool: groupcache.HTTPPool
    kg: kubegroup.KubeGroup | None = None
    ready: bool = False
    discovery_grace: float = 60.0


BACKEND_KEY: web.AppKey[SlowBackend] = web.AppKey("backend", SlowBackend)
STATE_KEY: web.AppKey[State] = web.AppKey("state", State)


async def handle_get(request: web.Request) -> web.Response:
    """``GET /get?key=K``: the value of K, through the cluster's cache."""
    key = request.query.get("key")
    if not key:
        raise web.HTTPBadRequest(text="missing ?key=\n")
    try:
        value = await request.app[STATE_KEY].group.get(key)
    except groupcache.NotFoundError as exc:
        raise web.HTTPNotFound(text=f"{exc}\n") from exc
    return web.Response(body=value, content_type="text/plain")


def is_ready(state: State) -> bool:
    """Synced once, and discovery working or failing for less than ``DISCOVERY_GRACE``.

    A ring that stopped following the pods (RBAC forbids the watch, a revoked token) is
    not ready; an API outage shorter than the grace (an API server restart) leaves every
    pod in the Service, serving with the last-known ring.
    """
    kg = state.kg
    return state.ready and kg is not None and kg.unhealthy_seconds < state.discovery_grace


async def handle_healthz(request: web.Request) -> web.Response:
    """``GET /healthz``: ready once the first pod list has reached the ring, and while
    the pod watch is healthy (e.g. not when RBAC forbids the watch: the ring would never
    change again). The probe's failureThreshold absorbs a reconnect's brief blip."""
    state = request.app[STATE_KEY]
    if not state.ready:
        raise web.HTTPServiceUnavailable(text="waiting for the first pod list\n")
    if not is_ready(state):
        reason = state.kg.last_error if state.kg is not None else None
        raise web.HTTPServiceUnavailable(text=f"peer discovery is failing: {reason}\n")
    return web.Response(text="ok\n")


async def handle_stats(request: web.Request) -> web.Response:
    """``GET /stats``: this pod's peers, group stats and backend calls, as JSON."""
    state = request.app[STATE_KEY]
    body: dict[str, Any] = {
        "self": state.pool.self_url,
        "peers": state.pool.peers,
        "ready": is_ready(state),
        "group": dataclasses.asdict(state.group.stats()),
        "backend_calls": dict(request.app[BACKEND_KEY].calls),
        "kubegroup": dataclasses.asdict(state.kg.stats()) if state.kg is not None else None,
    }
    return web.json_response(body)


def make_app(state: State, backend: SlowBackend) -> web.Application:
    """Return the app served on ``APP_PORT``."""
    app = web.Application()
    app[STATE_KEY] = state
    app[BACKEND_KEY] = backend
    app.router.add_get("/get", handle_get)
    app.router.add_get("/healthz", handle_healthz)
    app.router.add_get("/stats", handle_stats)
    return app


async def _mark_ready(state: State, kg: kubegroup.KubeGroup) -> None:
    await kg.wait_synced()
    state.ready = True
    log.info("synced: peers %s", ", ".join(kg.peers))


async def run(config: Config) -> None:
    """Serve until SIGTERM or SIGINT, then shut down cleanly."""
    stop = asyncio.Event()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)

    self_url = kubegroup.find_my_url(config.groupcache_port)  # http://$POD_IP:5000
    with groupcache.Workspace() as ws:
        backend = SlowBackend(config.backend_delay, self_url)
        group = groupcache.Group(config.group_name, backend.load, CACHE_BYTES, workspace=ws)
        pool = groupcache.HTTPPool(self_url, workspace=ws, ring=config.ring)
        state = State(group, pool, discovery_grace=config.discovery_grace)
        runner = web.AppRunner(make_app(state, backend), access_log=None, handle_signals=False)
        synced: asyncio.Task[None] | None = None
        try:
            await pool.start(config.listen_host, config.groupcache_port)
            pool.set_peers(self_url)  # alone until the first pod list arrives
            await runner.setup()
            await web.TCPSite(runner, config.listen_host, config.app_port).start()
            state.kg = await kubegroup.update_peers(
                pool, label_selector=config.label_selector, port=config.groupcache_port
            )
            synced = asyncio.create_task(_mark_ready(state, state.kg))
            log.info(
                "serving: app on %s:%d, groupcache at %s (group %r, ring %s), peers %r",
                config.listen_host,
                config.app_port,
                self_url,
                config.group_name,
                config.ring,
                config.label_selector,
            )
            await stop.wait()
            log.info("stopping")
        finally:
            if synced is not None:
                synced.cancel()
                await asyncio.gather(synced, return_exceptions=True)
            if state.kg is not None:
                await state.kg.aclose()  # no more set_peers
            await runner.cleanup()  # finish the app's requests in progress
            stop.clear()  # a second signal from now on sets it again
            if config.drain > 0 and signals == 1:  # stopped by a signal, not by a failure
                log.info("draining: serving peers for %.1f s", config.drain)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), config.drain)
            await pool.aclose()  # then stop serving peers
    log.info("stopped")


def main() -> None:
    """Entry point: configure logging, read the environment, run."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        config = Config.from_env()
    except ValueError as exc:  # a ConfigError, or a number that does not parse
        raise SystemExit(f"kubegroup-example: {exc}") from exc
    asyncio.run(run(config))


if __name__ == "__main__":
    main()
