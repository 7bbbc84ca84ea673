"""The ``groupcache`` command line: ``demo`` (the README's main job) and ``serve``."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Awaitable, Coroutine, Sequence
from typing import Any

from .._errors import GroupcacheError
from .._http.pool import HTTPPool
from .demo import run_demo
from .serve import TOKEN_ENV, Closeable, load_discovery, serve


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="groupcache", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a local cluster of node processes and a workload")
    demo.add_argument("--nodes", type=int, default=3, help="node processes (default 3)")
    demo.add_argument("--keys", type=int, default=500, help="distinct cold keys (default 500)")
    demo.add_argument("--duration", type=float, default=8.0, help="seconds of mixed workload")
    srv = sub.add_parser("serve", help="run a standalone node")
    srv.add_argument(
        "--self",
        dest="self_url",
        help="this node's URL (with --kube-selector: from POD_IP and --port)",
    )
    srv.add_argument("--peers", default="", help="comma-separated peer URLs (self included)")
    srv.add_argument("--getter", required=True, help="module:function loading a key")
    srv.add_argument("--group", default="default", help="group name (default 'default')")
    srv.add_argument("--size", type=int, default=64 << 20, help="cache bytes (default 64 MiB)")
    srv.add_argument("--listen", default=None, help="host:port (default: from --self)")
    srv.add_argument("--ring", default="mmh3", help="mmh3, golang, mailgun or groupcache-go")
    srv.add_argument(
        "--token",
        default=None,
        help=f"shared secret between peers (visible in ps: prefer ${TOKEN_ENV} or --token-file)",
    )
    srv.add_argument("--token-file", default=None, help="read the shared secret from a file")
    srv.add_argument("--metrics", action="store_true", help="serve Prometheus /metrics")
    srv.add_argument(
        "--loop",
        choices=["auto", "asyncio", "uvloop"],
        default="auto",
        help="event loop: uvloop (pip install 'groupcache[uvloop]'), asyncio, or auto "
        "(uvloop when installed; the default)",
    )
    srv.add_argument(
        "--drain",
        type=float,
        default=0.0,
        help="seconds to keep serving peers after SIGTERM, so they can take this node's "
        "cached copies (warm handoff); a second signal stops at once (default 0)",
    )
    srv.add_argument("--kube-selector", default=None, help="find peers: pods with this label")
    srv.add_argument("--port", type=int, default=None, help="the peers' port (kube discovery)")
    return parser


def _token(args: argparse.Namespace) -> str | None:
    """The peers' shared secret: ``--token``, else ``--token-file``, else the environment."""
    if args.token is not None and args.token_file is not None:
        raise GroupcacheError("give --token or --token-file, not both")
    if args.token_file is not None:
        try:
            with open(args.token_file, encoding="utf-8") as f:
                token = f.read().strip()
        except OSError as exc:
            raise GroupcacheError(f"cannot read --token-file: {exc}") from exc
        if not token:
            raise GroupcacheError(f"--token-file {args.token_file} is empty")
        return token
    if args.token is not None:
        return str(args.token)
    from_env = os.environ.get(TOKEN_ENV)
    if from_env is not None and not from_env.strip():
        raise GroupcacheError(f"${TOKEN_ENV} is set but empty: refusing to run without a token")
    return from_env


def _run(coro: Coroutine[Any, Any, None], loop: str) -> None:
    """Run ``coro`` on the asked event loop; ``auto`` takes uvloop when it is installed."""
    if loop != "asyncio":
        try:
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            if loop == "uvloop":
                coro.close()
                raise GroupcacheError(
                    "--loop uvloop needs uvloop: pip install 'groupcache[uvloop]'"
                ) from None
        else:
            run = getattr(uvloop, "run", None)  # uvloop >= 0.18
            if run is not None:
                run(coro)
                return
            if loop == "uvloop":
                coro.close()
                raise GroupcacheError("--loop uvloop needs uvloop >= 0.18")
    asyncio.run(coro)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return asyncio.run(run_demo(args.nodes, args.keys, args.duration))
        discovery = None
        self_url = args.self_url
        if args.kube_selector is not None:
            if args.port is None:
                raise GroupcacheError("--kube-selector needs --port")
            plugin = load_discovery("kube")
            self_url = self_url or plugin.my_url(args.port)

            def discovery(pool: HTTPPool) -> Awaitable[Closeable]:
                return plugin.discover(pool, selector=args.kube_selector, port=args.port)

        if self_url is None:
            raise GroupcacheError("serve needs --self (or --kube-selector and --port)")
        if not args.drain >= 0:  # NaN too
            raise GroupcacheError(f"--drain must be >= 0 seconds, not {args.drain}")
        listen = args.listen or self_url.split("://", 1)[-1].rstrip("/")
        if args.kube_selector is not None and args.listen is None:
            listen = f"0.0.0.0:{args.port}"
        _run(
            serve(
                self_url=self_url,
                peers=[p for p in args.peers.split(",") if p],
                getter=args.getter,
                group=args.group,
                size=args.size,
                listen=listen,
                ring=args.ring,
                token=_token(args),
                metrics=args.metrics,
                ready=lambda line: print(line, flush=True),
                discovery=discovery,
                drain=args.drain,
            ),
            args.loop,
        )
    except GroupcacheError as exc:
        print(f"groupcache: {exc}", file=sys.stderr)
        return 2
    return 0
