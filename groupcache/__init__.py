"""A pure-Python asyncio groupcache."""
