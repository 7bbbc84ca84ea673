"""Test helpers: a Kubernetes-faithful fake API server and a recording peer pool.

:class:`FakeKubeAPI` serves pod list/get/watch on loopback the way kube-apiserver does
(revisions, history, 410, bookmarks, selector transitions, ``timeoutSeconds``), with a
thread-safe Python API to script pod lifecycles and faults. Use it to test any code that
watches pods with the official client, not only kubegroup::

    with FakeKubeAPI() as api, api.api_client() as client:
        api.start_pod("web-0", labels={"app": "web"})
        ...

:class:`RecordingPool` stands in for a peer pool. For pytest, :mod:`kubegroup.testing.pytest_plugin`
has a ``fake_kube_api`` fixture that also fails the test if the fake left a thread running.

The fake is its own oracle: it parses selectors with its own matcher (``_selector``), not
kubegroup's, so a bug there cannot hide itself. Production kubegroup never imports this package.
"""

from ._api import FakeKubeAPI
from ._log import RecordedRequest
from ._pods import Pod
from ._recording import RecordingPool

__all__ = ["FakeKubeAPI", "Pod", "RecordedRequest", "RecordingPool"]
