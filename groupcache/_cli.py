"""The ``groupcache`` command line: ``demo`` (the README's main job) and ``serve``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Sequence

from ._demo import run_demo
from ._errors import GroupcacheError
from ._pool import HTTPPool
from ._serve import Closeable, load_discovery, serve


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
    srv.add_argument("--token", default=None, help="shared secret between peers")
    srv.add_argument("--kube-selector", default=None, help="find peers: pods with this label")
    srv.add_argument("--port", type=int, default=None, help="the peers' port (kube discovery)")
    return parser


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
        listen = args.listen or self_url.split("://", 1)[-1].rstrip("/")
        if args.kube_selector is not None and args.listen is None:
            listen = f"0.0.0.0:{args.port}"
        asyncio.run(
            serve(
                self_url=self_url,
                peers=[p for p in args.peers.split(",") if p],
                getter=args.getter,
                group=args.group,
                size=args.size,
                listen=listen,
                ring=args.ring,
                token=args.token,
                ready=lambda line: print(line, flush=True),
                discovery=discovery,
            )
        )
    except GroupcacheError as exc:
        print(f"groupcache: {exc}", file=sys.stderr)
        return 2
    return 0
