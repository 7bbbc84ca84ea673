"""The HTTP transport: the peer server, the peer client and HTTPPool, which joins them."""
