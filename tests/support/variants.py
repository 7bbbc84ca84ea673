"""The Go groupcache variants the interop tests run, and what each one can do.

Each has a small Go program under ``gopeers/<directory>`` (its ``main.go``, ``go.mod``
and ``go.sum``) that adapts the module to the shared test front end ``gopeers/front``.
The versions are pinned in those ``go.mod`` files; :attr:`Variant.version` repeats them,
and a test checks that the binary really links that version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from groupcache._protocol.bodies import ExpiryField

GOPEERS = Path(__file__).resolve().parents[1] / "interop" / "gopeers"
FRONT = GOPEERS / "front"


@dataclass(frozen=True, slots=True)
class Variant:
    """One Go module at one version, and the matching settings on our side."""

    name: str
    """Test id: the module's short name and version."""
    directory: str
    """Its program under ``gopeers/``."""
    module: str
    version: str
    """Exactly as in its ``go.mod`` (and as the Go build info reports it)."""
    ring: str
    """Our ``HTTPPool(ring=...)`` preset for it."""
    expiry_field: ExpiryField | None
    """The ``GetResponse`` field it carries the expiry in; ``None``: it has no TTLs."""
    writes: bool
    """It serves and sends Set (PUT) and Remove (DELETE)."""
    remove_keys: bool
    """It serves and sends groupcache-go's ``POST .../_remove-keys/``."""

    @property
    def source_dir(self) -> Path:
        return GOPEERS / self.directory

    @property
    def our_expiry_field(self) -> ExpiryField:
        """What our nodes should write for it (golang ignores the field: keep the default)."""
        return 3 if self.expiry_field is None else self.expiry_field

    def __str__(self) -> str:
        return self.name


GOLANG = Variant(
    name="golang",
    directory="golang",
    module="github.com/golang/groupcache",
    version="v0.0.0-20241129210726-2c02b8208cf8",
    ring="golang",
    expiry_field=None,
    writes=False,
    remove_keys=False,
)
MAILGUN = Variant(
    name="mailgun-v2.6.0",
    directory="mailgun",
    module="github.com/mailgun/groupcache/v2",
    version="v2.6.0",
    ring="mailgun",
    expiry_field=3,
    writes=True,
    remove_keys=False,
)
MODERNPROGRAM_PINNED = Variant(  # what udhos/kubegroup's current release pins
    name="modernprogram-v2.7.14",
    directory="modernprogram-v2.7.14",
    module="github.com/modernprogram/groupcache/v2",
    version="v2.7.14",
    ring="mailgun",
    expiry_field=3,
    writes=True,
    remove_keys=False,
)
MODERNPROGRAM_NEWEST = Variant(
    name="modernprogram-v2.7.23",
    directory="modernprogram-v2.7.23",
    module="github.com/modernprogram/groupcache/v2",
    version="v2.7.23",
    ring="mailgun",
    expiry_field=2,
    writes=True,
    remove_keys=False,
)
GROUPCACHE_GO = Variant(  # v3.5.0 is both what kubegroup pins and the newest release
    name="groupcache-go-v3.5.0",
    directory="groupcache-go",
    module="github.com/groupcache/groupcache-go/v3",
    version="v3.5.0",
    ring="groupcache-go",
    expiry_field=3,
    writes=True,
    remove_keys=True,
)

VARIANTS: tuple[Variant, ...] = (
    GOLANG,
    MAILGUN,
    MODERNPROGRAM_PINNED,
    MODERNPROGRAM_NEWEST,
    GROUPCACHE_GO,
)
