"""Throwaway TLS certificates for the interop tests, made with trustme.

One CA signs one certificate for ``127.0.0.1`` (an IP SAN) that every node of a cluster,
Go or Python, serves; the files are what the Go peers' ``-tls-cert``, ``-tls-key`` and
``-ca`` flags take, the contexts what ``HTTPPool(ssl=..., client_ssl=...)`` takes.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True, slots=True)
class Certs:
    """A CA and a server certificate it signed, as PEM files."""

    ca: trustme.CA
    leaf: trustme.LeafCert
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """A server context presenting the certificate (a context serves one side)."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.leaf.configure_cert(ctx)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting only this CA (hostnames checked)."""
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx


def make_certs(directory: Path, name: str = "ca") -> Certs:
    """A new CA and a ``127.0.0.1`` certificate, written under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name=f"groupcache interop {name}")
    leaf = ca.issue_cert("127.0.0.1")
    ca_file = directory / f"{name}.pem"
    cert_file = directory / f"{name}-server.pem"
    key_file = directory / f"{name}-server.key"
    ca.cert_pem.write_to_path(str(ca_file))
    for i, pem in enumerate(leaf.cert_chain_pems):
        pem.write_to_path(str(cert_file), append=i > 0)
    leaf.private_key_pem.write_to_path(str(key_file))
    return Certs(ca, leaf, ca_file, cert_file, key_file)
