"""Child processes of the benchmarks: their CPU time, reading their first line, stopping
them by PID, and a throwaway redis-server (the baseline of bench_peer_fetch)."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from _common import redis_server_path

from tests.support.net import free_port  # _common put the repository root on the path


def proc_cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds used so far by process ``pid`` (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """Stop ``proc`` by its PID: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def read_line(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> str:
    """Return the next line ``proc`` writes to its stdout pipe, waiting ``timeout`` at most.

    Raises:
        RuntimeError: the process exited or said nothing in time.
    """
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    buf = b""
    fd = proc.stdout.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(f"process {proc.pid} printed no line within {timeout} s")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 1)
            if not chunk:
                raise RuntimeError(f"process {proc.pid} exited before printing a line")
            buf += chunk
    return buf.decode().strip()


# -- redis-server ---------------------------------------------------------------------


@dataclass(frozen=True)
class RedisServer:
    """A running redis-server of :func:`redis_server`."""

    port: int
    pid: int


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(timeout: float = 10.0) -> Iterator[RedisServer]:
    """Start a throwaway redis-server on a free 127.0.0.1 port; stop it by PID on exit.

    Persistence is off (``--save '' --appendonly no``) and its files go to a temp dir.

    Raises:
        RuntimeError: redis-server is not installed or did not answer PING in time.
    """
    exe = redis_server_path()
    if exe is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as workdir:
        port = free_port()
        proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + timeout
            while not _ping(port):
                if proc.poll() is not None:
                    raise RuntimeError(f"redis-server exited with status {proc.returncode}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not answer PING within {timeout} s")
                time.sleep(0.05)
            yield RedisServer(port, proc.pid)
        finally:
            stop_process(proc)


def start_server_process(
    cmd: list[str], timeout: float = 20.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server process that prints its URL as its first line and runs until its
    stdin ends; return the process and that line.

    Raises:
        RuntimeError: it printed nothing in ``timeout`` seconds (it is stopped then).
    """
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        return proc, read_line(proc, timeout)
    except BaseException:
        stop_server_process(proc)
        raise


def stop_server_process(proc: subprocess.Popen[bytes]) -> None:
    """Close the server's stdin (its signal to stop), then make sure it is gone by PID."""
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        stop_process(proc)
    if proc.stdout is not None:
        proc.stdout.close()
