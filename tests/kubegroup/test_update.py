"""update_peers' own checks (kubegroup/_update.py); its behaviour is in test_discovery.py and
test_config.py."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s

from kubegroup import KubeConfigError, update_peers
from kubegroup.testing import RecordingPool

from .helpers import group_options


@pytest.mark.parametrize("bad", [{"close_timeout": 0}, {"list_page_size": -1}])
async def test_a_bad_close_timeout_or_page_size_is_a_config_error(
    api_client: k8s.ApiClient, bad: dict[str, Any]
) -> None:
    with pytest.raises(KubeConfigError):
        await update_peers(RecordingPool(), **group_options(api_client, **bad))
