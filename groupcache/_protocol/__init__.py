"""The peer protocol: paths, headers, statuses and bodies, shared by both sides."""
