"""How the Go examples' rings and loads are read from their logs (no cluster needed)."""

from __future__ import annotations

from .udhos import loads_of_log, module_versions, ring_of_log

T = "2026/12/04 03:56:25 "
V2_LIST = (
    f"{T}DEBUG kubegroup: onUpdate: 3\n"
    f"{T}DEBUG kubegroup: onUpdate: 1/3: namespace=default pod=go-1 ip=10.0.0.11 ready=true\n"
    f"{T}DEBUG kubegroup: onUpdate: 2/3: namespace=default pod=py-1 ip=10.0.0.13 ready=true\n"
    f"{T}DEBUG kubegroup: onUpdate: 3/3: namespace=default pod=py-2 ip= ready=false\n"
)
V3_LIST = (
    f"{T}DEBUG kubegroup: onUpdate: 1\n"
    f"{T}DEBUG kubegroup: onUpdate: 1/1: namespace=default pod=go-1 ip=10.0.0.11 ready=false "
    "host_port=10.0.0.11:5000 is_self=true\n"
)


def test_the_ring_is_the_ready_pods_of_the_last_complete_list() -> None:
    assert ring_of_log("") is None
    assert ring_of_log(V2_LIST) == ["http://10.0.0.11:5000", "http://10.0.0.13:5000"]
    partial = V2_LIST + "\n".join(V2_LIST.splitlines()[:2]) + "\n"
    assert ring_of_log(partial) == ["http://10.0.0.11:5000", "http://10.0.0.13:5000"]
    assert ring_of_log(V2_LIST + f"{T}DEBUG kubegroup: onUpdate: 0\n") == []


def test_a_list_that_groupcache_go_refused_leaves_the_ring_as_it_was() -> None:
    refused = f"{T}ERROR kubegroup: set peers: error: no self in peers\n"
    assert ring_of_log(V2_LIST + V3_LIST + refused) == [
        "http://10.0.0.11:5000",
        "http://10.0.0.13:5000",
    ]
    assert ring_of_log(V3_LIST) == []


def test_loads_count_the_getters_cache_miss_lines() -> None:
    log = (
        f"{T}cache miss, loading file: a.txt (ttl:1m0s)\n{T}cache miss, loading file: b.txt"
        f" (ttl:1m0s)\n{T}cache miss, loading file: a.txt (ttl:1m0s)\n{T}routeHandler: GET /a\n"
    )
    assert loads_of_log(log) == {"a.txt": 2, "b.txt": 1}


def test_the_pinned_versions_are_read_from_go_mod() -> None:
    versions = module_versions()
    assert versions["github.com/udhos/kubegroup"] == "v1.3.2"
    assert versions["github.com/modernprogram/groupcache/v2"] == "v2.7.14"
    assert versions["github.com/groupcache/groupcache-go/v3"] == "v3.5.0"
