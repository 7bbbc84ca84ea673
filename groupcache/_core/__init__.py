"""The core: groups, caches, flights, rings and the seams to peers; no sockets, no aiohttp."""
