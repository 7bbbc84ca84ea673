"""``python -m groupcache`` and the ``groupcache`` console script."""

from __future__ import annotations

from ._app.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
