"""examples/kubegroup-example: ``GROUPCACHE_RING`` and ``GROUPCACHE_GROUP`` choose the ring
preset and the group's name, so the app can share a ring with udhos/kubegroup's Go examples
(tests/realkube/test_udhos_examples.py runs them together on a real API server)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import groupcache

from .test_kubegroup_example import EXAMPLE, load_app_module


def test_the_defaults_are_our_ring_and_the_example_group() -> None:
    config = load_app_module().Config.from_env({})
    assert (config.ring, config.group_name) == ("mmh3", "example")


def test_the_go_examples_settings_are_taken() -> None:
    app = load_app_module()
    config = app.Config.from_env({"GROUPCACHE_RING": "groupcache-go", "GROUPCACHE_GROUP": "files"})
    assert (config.ring, config.group_name) == ("groupcache-go", "files")


def test_every_ring_the_app_offers_is_a_groupcache_preset() -> None:
    app = load_app_module()
    assert {"mmh3", "mailgun", "groupcache-go", "golang"} <= set(app.RINGS)
    with groupcache.Workspace() as ws:
        for ring in app.RINGS:
            pool = groupcache.HTTPPool("http://127.0.0.1:5000", workspace=ws, ring=ring)
            pool.set_peers("http://127.0.0.1:5000", "http://127.0.0.2:5000")
            assert pool.peers == ["http://127.0.0.1:5000", "http://127.0.0.2:5000"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("GROUPCACHE_RING", "crc32", "GROUPCACHE_RING='crc32': choose one of mmh3, mailgun"),
        ("GROUPCACHE_RING", "", "GROUPCACHE_RING='': choose one of"),
        ("GROUPCACHE_GROUP", "", "GROUPCACHE_GROUP='': a non-empty name"),
        ("GROUPCACHE_GROUP", "a/b", "GROUPCACHE_GROUP='a/b': a non-empty name without '/'"),
        ("DRAIN_SECONDS", "soon", "DRAIN_SECONDS='soon': seconds, 0 or more"),
        ("DRAIN_SECONDS", "-1", "DRAIN_SECONDS='-1': seconds, 0 or more"),
        ("DRAIN_SECONDS", "nan", "DRAIN_SECONDS='nan': seconds, 0 or more"),
    ],
)
def test_a_bad_ring_or_group_is_a_config_error_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    app = load_app_module()
    with pytest.raises(app.ConfigError) as caught:
        app.Config.from_env({variable: value})
    assert message in str(caught.value)


def test_the_app_exits_with_the_message_when_the_ring_is_unknown() -> None:
    env = {**os.environ, "GROUPCACHE_RING": "fnv"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / "app.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    choices = "mmh3, mailgun, groupcache-go, golang"
    assert done.stderr.strip().splitlines() == [
        f"kubegroup-example: GROUPCACHE_RING='fnv': choose one of {choices}"
    ]
