"""Build and drive ``gopeer``, a golang/groupcache peer used by the interoperability tests.

The Go side is built from Debian packages only, in GOPATH mode, without a module
proxy or any network access:

* :func:`build_gopeer` installs ``golang-go``, ``golang-github-golang-groupcache-dev``
  and ``golang-goprotobuf-dev`` with apt-get when they are missing, then compiles
  ``gopeer/main.go`` into ``.build/gopeer`` (rebuilt only when the source is newer).
* :class:`GoPeer` runs one such binary on a kernel-chosen loopback port and talks to
  its admin API (``/admin/...``) with aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self, TypedDict, cast
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE / "gopeer"
SOURCE = SOURCE_DIR / "main.go"
BUILD_DIR = HERE / ".build"
BINARY = BUILD_DIR / "gopeer"

APT_PACKAGES = ("golang-go", "golang-github-golang-groupcache-dev", "golang-goprotobuf-dev")
GOCODE = Path("/usr/share/gocode")
GROUPCACHE_SRC = GOCODE / "src/github.com/golang/groupcache"
PROTOBUF_SRC = GOCODE / "src/github.com/golang/protobuf/proto"

APT_TIMEOUT = 900.0  # seconds, for update + install together
GO_BUILD_TIMEOUT = 300.0
STARTUP_TIMEOUT = 15.0  # seconds to wait for the LISTEN line
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
ADMIN_TIMEOUT = 30.0  # seconds per admin HTTP call

_LISTEN_RE = re.compile(r"LISTEN (http://127\.0\.0\.1:[0-9]+)")


class GoToolchainUnavailableError(Exception):
    """The Go toolchain or packages are missing and apt-get cannot install them."""


class GoBuildError(Exception):
    """``go build`` of the peer failed (a real error, never a reason to skip)."""


class AptError(Exception):
    """apt-get exists but could not install the Go packages: an error, not a skip."""


class GoPeerStartError(Exception):
    """The peer process exited or stayed silent before printing its LISTEN line."""


class GoPeerGetError(Exception):
    """``/admin/get`` answered with an error: the Go ``group.Get`` failed."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"gopeer /admin/get answered {status}: {message}")


class GoStats(TypedDict):
    """``groupcache.Stats`` of the peer's group, with Go's field names."""

    Gets: int
    CacheHits: int
    PeerLoads: int
    PeerErrors: int
    Loads: int
    LoadsDeduped: int
    LocalLoads: int
    LocalLoadErrs: int
    ServerRequests: int


# --------------------------------------------------------------------------- toolchain


def find_go() -> str | None:
    """Return the path of the ``go`` command, or None."""
    return shutil.which("go") or (
        "/usr/lib/go/bin/go" if os.access("/usr/lib/go/bin/go", os.X_OK) else None
    )


def toolchain_present() -> bool:
    """Whether ``go`` and the Debian groupcache/protobuf sources are installed."""
    return find_go() is not None and GROUPCACHE_SRC.is_dir() and PROTOBUF_SRC.is_dir()


def binary_is_current() -> bool:
    """Whether ``.build/gopeer`` exists and is not older than ``main.go``."""
    try:
        return BINARY.stat().st_mtime >= SOURCE.stat().st_mtime
    except FileNotFoundError:
        return False


def _run_apt(args: Sequence[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run(
            ["apt-get", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=APT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AptError(f"apt-get {' '.join(args)}: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise AptError(f"apt-get {' '.join(args)} exited with {done.returncode}: {tail}")


def ensure_toolchain() -> str:
    """Install the Go packages with apt-get if needed; return the ``go`` command.

    Raises:
        GoToolchainUnavailableError: apt-get is missing, so the Go side cannot exist on
            this machine (the one reason the interop tests may skip).
        AptError: apt-get is there but failed; the tests then fail, not skip.
    """
    if not toolchain_present():
        if shutil.which("apt-get") is None:
            raise GoToolchainUnavailableError(
                "the Go toolchain is not installed and apt-get is not available"
            )
        _run_apt(["update"])
        _run_apt(["install", "-y", *APT_PACKAGES])
        if not toolchain_present():
            raise AptError(
                f"apt-get installed {' '.join(APT_PACKAGES)} but go or "
                f"{GROUPCACHE_SRC} is still missing"
            )
    go = find_go()
    assert go is not None
    return go


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with (BUILD_DIR / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_gopeer() -> Path:
    """Make sure ``.build/gopeer`` is built from the current ``main.go``; return its path.

    Raises:
        GoToolchainUnavailableError: see :func:`ensure_toolchain`.
        GoBuildError: the compiler rejected the program.
    """
    with _build_lock():
        if binary_is_current() and toolchain_present():
            return BINARY
        go = ensure_toolchain()
        env = {
            **os.environ,
            "GOPATH": f"{BUILD_DIR / 'gopath'}:{GOCODE}",
            "GO111MODULE": "off",  # GOPATH mode: imports come from /usr/share/gocode
            "GOFLAGS": "",
            "GOPROXY": "off",  # never touch the network
            "GOTOOLCHAIN": "local",
            "GOCACHE": str(BUILD_DIR / "go-cache"),
            "CGO_ENABLED": "0",  # no C compiler needed; loopback IPs only
        }
        partial = BUILD_DIR / f"gopeer.{os.getpid()}.tmp"
        try:
            done = subprocess.run(
                [go, "build", "-o", str(partial), "."],
                cwd=SOURCE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=GO_BUILD_TIMEOUT,
                check=False,
            )
            if done.returncode != 0:
                raise GoBuildError(f"go build failed ({done.returncode}):\n{done.stderr}")
            partial.replace(BINARY)
        finally:
            partial.unlink(missing_ok=True)
        return BINARY


# --------------------------------------------------------------------------- the peer


def _query(**params: str) -> str:
    """Percent-encode every reserved byte, so ``+`` and ``/`` reach Go unchanged."""
    return urlencode(params, quote_via=quote, safe="")


class GoPeer:
    """One running ``gopeer`` process on 127.0.0.1 and a client for its admin API.

    Use ``async with GoPeer(binary) as peer:`` or pair :meth:`start` with
    :meth:`aclose`. The process is stopped by PID (SIGTERM, then SIGKILL).
    """

    live: ClassVar[dict[int, asyncio.subprocess.Process]] = {}  # started, not yet closed

    def __init__(
        self,
        binary: Path = BINARY,
        *,
        group: str = "interop",
        size: int = 1 << 20,
        base: str = "/_groupcache/",
        replicas: int = 50,
    ) -> None:
        self.binary = binary
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
        """The peer's base URL, ``http://127.0.0.1:PORT`` (its ``self`` in the pool)."""
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
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=ADMIN_TIMEOUT),
            raise_for_status=False,
        )

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
        async with self._client().get(self._admin("get", _query(key=key))) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise GoPeerGetError(resp.status, body.decode(errors="replace").strip())
            return body

    async def owner(self, key: str, peers: Sequence[str] | None = None) -> str:
        """The owner of ``key`` on the golang ring (crc32, ``replicas`` points per member).

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
) -> list[GoPeer]:
    """Start ``n`` peers, closed by ``stack``; they are not told about each other yet."""
    peers = [GoPeer(binary, group=group, base=base) for _ in range(n)]
    for peer in peers:
        stack.push_async_callback(peer.aclose)
    await asyncio.gather(*(peer.start() for peer in peers))
    return peers
