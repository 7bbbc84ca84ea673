"""find_my_address / find_my_url: POD_IP first, hostname fallback, IPv6 brackets, ports,
http or https."""

from __future__ import annotations

import ipaddress

import pytest

from kubegroup import KubeConfigError, find_my_address, find_my_url
from kubegroup._address import _pick, parse_port, peer_url


def test_pod_ip_from_the_downward_api_wins() -> None:
    assert find_my_address(environ={"POD_IP": " 10.1.2.3 "}) == "10.1.2.3"
    assert find_my_url(5000, environ={"POD_IP": "10.1.2.3"}) == "http://10.1.2.3:5000"


def test_ipv6_addresses_are_bracketed_and_normalised() -> None:
    assert find_my_url(":5000", environ={"POD_IP": "FD00:0::1"}) == "http://[fd00::1]:5000"
    assert peer_url("fd00::7", "5000") == "http://[fd00::7]:5000"


def test_a_bad_pod_ip_is_a_config_error() -> None:
    with pytest.raises(KubeConfigError, match="POD_IP='nope' is not an IP address"):
        find_my_address(environ={"POD_IP": "nope"})


def test_without_pod_ip_the_hostname_is_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POD_IP", raising=False)
    ipaddress.ip_address(find_my_address())
    assert find_my_url(5000, environ={}).startswith("http://")


def test_several_addresses_are_not_fatal_ipv4_and_non_loopback_win() -> None:
    assert _pick(["fd00::1", "10.0.0.5"]) == "10.0.0.5"
    assert _pick(["127.0.1.1", "fd00::1"]) == "fd00::1"
    assert _pick(["127.0.1.1"]) == "127.0.1.1"
    assert _pick(["10.0.0.5", "10.0.0.6"]) == "10.0.0.5"


@pytest.mark.parametrize(("port", "expected"), [(5000, 5000), ("5000", 5000), (":8080", 8080)])
def test_ports_are_accepted_as_int_string_or_go_style(port: int | str, expected: int) -> None:
    assert parse_port(port) == expected


def test_https_peer_and_self_urls_for_a_pool_serving_tls() -> None:
    assert peer_url("10.0.0.1", 5000) == "http://10.0.0.1:5000"
    assert peer_url("10.0.0.1", 5000, scheme="https") == "https://10.0.0.1:5000"
    assert peer_url("fd00::7", ":443", scheme="https") == "https://[fd00::7]:443"
    env = {"POD_IP": "10.1.2.3"}
    assert find_my_url(8443, environ=env, scheme="https") == "https://10.1.2.3:8443"
    assert find_my_url(5000, environ=env, scheme="http") == "http://10.1.2.3:5000"


@pytest.mark.parametrize("scheme", ["ftp", "HTTPS", "https://", ""])
def test_other_schemes_are_config_errors(scheme: str) -> None:
    with pytest.raises(KubeConfigError, match="expected 'http' or 'https'"):
        peer_url("10.0.0.1", 5000, scheme=scheme)
    with pytest.raises(KubeConfigError, match="expected 'http' or 'https'"):
        find_my_url(5000, environ={"POD_IP": "10.1.2.3"}, scheme=scheme)
