"""Applications on top of the library: the thin Client, `groupcache serve`, the CLI, the demo."""
