"""Drive one Go test peer (any variant, see :mod:`.variants`) through its admin API.

:class:`GoPeer` runs a binary built by :mod:`.gobuild` on a kernel-chosen loopback port
and talks to the admin API of ``gopeers/front`` (``/admin/...``) with aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import ssl
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import ClassVar, NotRequired, Self, TypedDict, cast
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

from .certs import Certs

STARTUP_TIMEOUT = 15.0  # seconds to wait for the LISTEN line
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
ADMIN_TIMEOUT = 30.0  # seconds per admin HTTP call

_LISTEN_RE = re.compile(r"LISTEN (https?://127\.0\.0\.1:[0-9]+)")


class GoPeerStartError(Exception):
    """The peer process exited or stayed silent before printing its LISTEN line."""


class GoPeerGetError(Exception):
    """``/admin/get`` answered with an error: the Go group's Get failed."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"gopeer /admin/get answered {status}: {message}")


class GoPeerWriteError(Exception):
    """A Set, Remove or RemoveKeys of the Go group returned an error (HTTP 500)."""


class GoPeerUnsupportedError(GoPeerWriteError):
    """The variant has no such call (HTTP 501), e.g. golang/groupcache's Set."""


class GoStats(TypedDict):
    """The group's stats, with Go's field names (only those the variant has)."""

    Gets: int
    CacheHits: int
    PeerLoads: int
    PeerErrors: int
    Loads: int
    LoadsDeduped: int
    LocalLoads: int
    LocalLoadErrs: int
    ServerRequests: NotRequired[int]  # all but groupcache-go v3
    CrosstalkRefusals: NotRequired[int]  # modernprogram
    RemoveKeysRequests: NotRequired[int]  # groupcache-go v3
    RemovedKeys: NotRequired[int]  # groupcache-go v3


class GoVariantInfo(TypedDict):
    """``/admin/variant``: what the binary is, from its Go build info."""

    variant: str
    module: str
    version: str
    go: str


# --------------------------------------------------------------------------- the peer


def _query(**params: str) -> str:
    """Percent-encode every reserved byte, so ``+`` and ``/`` reach Go unchanged."""
    return urlencode(params, quote_via=quote, safe="")


class GoPeer:
    """One running ``gopeer`` process on 127.0.0.1 and a client for its admin API.

    Use ``async with GoPeer(binary) as peer:`` or pair :meth:`start` with
    :meth:`aclose`. The process is stopped by PID (SIGTERM, then SIGKILL).

    With ``certs`` it serves TLS only (groupcache and admin API) with that certificate,
    and its peer requests trust ``ca_file`` (default: the CA of ``certs``; without either,
    the system roots). With ``token`` its peer requests send it as a bearer token and its
    groupcache handler answers 401 without it. With ``value_bytes`` its getter's values
    (``"go:" + key``) are padded with ``.`` to that length (the benchmarks' values).
    """

    live: ClassVar[dict[int, asyncio.subprocess.Process]] = {}  # started, not yet closed

    def __init__(
        self,
        binary: Path,
        *,
        group: str = "interop",
        size: int = 1 << 20,
        base: str = "/_groupcache/",
        replicas: int = 50,
        ttl: float = 3600.0,
        certs: Certs | None = None,
        ca_file: Path | None = None,
        token: str | None = None,
        value_bytes: int = 0,
    ) -> None:
        self.binary = binary
        self.value_bytes = value_bytes
        self.certs = certs
        self.ca_file = ca_file if ca_file is not None or certs is None else certs.ca_file
        self.token = token
        self.ttl = ttl
        self.group = group
        self.size = size
        self.base = base
        self.replicas = replicas
        self._proc: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None
        self._url: str | None = None

    def __repr__(self) -> str:
        pid = self._proc.pid if self._proc else None
        return f"<GoPeer {self._url or 'not started'} pid={pid}>"

    @property
    def url(self) -> str:
        """The peer's base URL, ``http://127.0.0.1:PORT`` or ``https://...`` (its ``self``)."""
        if self._url is None:
            raise RuntimeError("GoPeer is not started")
        return self._url

    @property
    def pid(self) -> int:
        """The process id."""
        if self._proc is None:
            raise RuntimeError("GoPeer is not started")
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has been reaped, else None."""
        return None if self._proc is None else self._proc.returncode

    async def start(self) -> None:
        """Run the binary and wait for its ``LISTEN`` line."""
        if self._proc is not None:
            raise RuntimeError("GoPeer already started")
        self._proc = await asyncio.create_subprocess_exec(
            str(self.binary),
            *self._security_flags(),
            "-listen",
            "127.0.0.1:0",
            "-group",
            self.group,
            "-size",
            str(self.size),
            "-base",
            self.base,
            "-replicas",
            str(self.replicas),
            "-ttl",
            f"{self.ttl}s",
            *(["-value-bytes", str(self.value_bytes)] if self.value_bytes else []),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,  # inherited: pytest captures it per test
        )
        GoPeer.live[self._proc.pid] = self._proc
        try:
            self._url = await asyncio.wait_for(self._read_listen(), STARTUP_TIMEOUT)
        except TimeoutError:
            await self.aclose()
            raise GoPeerStartError(
                f"{self.binary} printed no LISTEN line within {STARTUP_TIMEOUT}s"
            ) from None
        except BaseException:
            await self.aclose()
            raise
        admin_ssl: ssl.SSLContext | bool = True
        if self.certs is not None:
            admin_ssl = self.certs.client_context()
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=ADMIN_TIMEOUT),
            raise_for_status=False,
            connector=aiohttp.TCPConnector(ssl=admin_ssl),
        )

    def _security_flags(self) -> list[str]:
        flags = []
        if self.certs is not None:
            flags += ["-tls-cert", str(self.certs.cert_file), "-tls-key", str(self.certs.key_file)]
        if self.ca_file is not None:
            flags += ["-ca", str(self.ca_file)]
        if self.token is not None:
            flags += ["-token", self.token]
        return flags

    async def _read_listen(self) -> str:
        assert self._proc is not None
        assert self._proc.stdout is not None
        line = await self._proc.stdout.readline()
        match = _LISTEN_RE.fullmatch(line.decode(errors="replace").strip())
        if match is None:
            code = await self._proc.wait() if not line else None
            raise GoPeerStartError(
                f"{self.binary} printed {line!r} instead of a LISTEN line (exit status {code})"
            )
        return match.group(1)

    async def aclose(self) -> int | None:
        """Stop the process (SIGTERM, SIGKILL after a grace period); return its exit status."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        proc = self._proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if proc.stdout is not None:
            await proc.stdout.read()  # reach EOF so the pipe transport closes now
        GoPeer.live.pop(proc.pid, None)
        return proc.returncode

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ admin API

    def _admin(self, path: str, query: str = "") -> URL:
        return URL(f"{self.url}/admin/{path}" + (f"?{query}" if query else ""), encoded=True)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("GoPeer is not started")
        return self._session

    async def _text(self, resp: aiohttp.ClientResponse) -> str:
        body = await resp.text()
        if resp.status != 200:
            raise RuntimeError(f"gopeer {resp.url} answered {resp.status}: {body.strip()}")
        return body

    async def set_peers(self, urls: Iterable[str]) -> None:
        """``pool.Set(urls...)`` in the given order (the ring is built in that order)."""
        body = "\n".join(urls).encode()
        async with self._client().post(self._admin("peers"), data=body) as resp:
            await self._text(resp)

    async def loads(self) -> dict[str, int]:
        """How many times the Go getter ran, per key."""
        async with self._client().get(self._admin("loads")) as resp:
            return cast(dict[str, int], json.loads(await self._text(resp)))

    async def get(self, key: str) -> bytes:
        """``group.Get(key)`` on the Go node (which may fetch from its owner).

        Raises:
            GoPeerGetError: Go's ``group.Get`` returned an error.
        """
        return (await self.get_with_expiry(key))[0]

    async def get_with_expiry(self, key: str) -> tuple[bytes, int]:
        """As :meth:`get`, with the value's expiry in Unix nanoseconds (0: none)."""
        async with self._client().get(self._admin("get", _query(key=key))) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise GoPeerGetError(resp.status, body.decode(errors="replace").strip())
            return body, int(resp.headers["X-Expire"])

    async def _write(self, path: str, query: str, body: bytes) -> None:
        async with self._client().post(self._admin(path, query), data=body) as resp:
            text = (await resp.text()).strip()
            if resp.status == 501:
                raise GoPeerUnsupportedError(text)
            if resp.status != 200:
                raise GoPeerWriteError(f"gopeer /admin/{path} answered {resp.status}: {text}")

    async def set(self, key: str, value: bytes, expire_ns: int = 0) -> None:
        """``group.Set(key, value, expire, hotCache=false)`` on the Go node.

        Raises:
            GoPeerUnsupportedError: the variant has no Set.
            GoPeerWriteError: the Set returned an error.
        """
        await self._write("set", _query(key=key, expire=str(expire_ns)), value)

    async def remove(self, key: str) -> None:
        """``group.Remove(key)`` on the Go node (errors as :meth:`set`)."""
        await self._write("remove", _query(key=key), b"")

    async def remove_keys(self, keys: Sequence[str]) -> None:
        """``group.RemoveKeys(keys...)`` on the Go node (errors as :meth:`set`)."""
        await self._write("remove-keys", "", json.dumps(list(keys)).encode())

    async def variant(self) -> GoVariantInfo:
        """Which module and version the binary links, and its Go version."""
        async with self._client().get(self._admin("variant")) as resp:
            return cast(GoVariantInfo, json.loads(await self._text(resp)))

    async def owner(self, key: str, peers: Sequence[str] | None = None) -> str:
        """The owner URL of ``key`` on the variant's ring (``replicas`` points per member).

        With ``peers``, the ring holds exactly those members, in that order, and
        nothing is contacted; without, it is the ring of the last :meth:`set_peers`.
        An empty string means the ring is empty.
        """
        params = {"key": key} if peers is None else {"key": key, "peers": ",".join(peers)}
        async with self._client().get(self._admin("owner", _query(**params))) as resp:
            return await self._text(resp)

    async def stats(self) -> GoStats:
        """The group's ``Stats`` counters."""
        async with self._client().get(self._admin("stats")) as resp:
            return cast(GoStats, json.loads(await self._text(resp)))


def kill_stray_peers() -> list[int]:
    """SIGKILL, by PID, every peer that was started but never closed; return those PIDs."""
    killed = []
    for pid, proc in sorted(GoPeer.live.items()):
        if proc.returncode is None:  # not reaped, so the PID cannot have been reused
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
    GoPeer.live.clear()
    return killed


async def start_go_peers(
    stack: contextlib.AsyncExitStack,
    binary: Path,
    n: int,
    *,
    group: str = "interop",
    base: str = "/_groupcache/",
    ttl: float = 3600.0,
    certs: Certs | None = None,
    token: str | None = None,
) -> list[GoPeer]:
    """Start ``n`` peers, closed by ``stack``; they are not told about each other yet.

    ``certs`` and ``token``: see :class:`GoPeer`.
    """
    peers = [
        GoPeer(binary, group=group, base=base, ttl=ttl, certs=certs, token=token) for _ in range(n)
    ]
    for peer in peers:
        stack.push_async_callback(peer.aclose)
    await asyncio.gather(*(peer.start() for peer in peers))
    return peers
