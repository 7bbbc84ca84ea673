"""Root conftest: the plugins every test directory may use."""

pytest_plugins = [
    "kubegroup.testing.pytest_plugin",  # the fake_kube_api fixture
    "tests.realkube.fixtures",  # real_kube: the session's kube-apiserver + etcd
]
