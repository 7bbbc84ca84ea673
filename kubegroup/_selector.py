"""Kubernetes label and field selectors: parsing and matching.

A port of the grammar in k8s.io/apimachinery ``labels/selector.go``: comma-separated
requirements ``k``, ``!k``, ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``,
``k>1`` and ``k<1``. ``update_peers`` uses it to reject a bad selector before it reaches
the API; the fake API server uses it to filter lists and watches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["FieldSelector", "LabelSelector", "SelectorError"]

_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_OPERATORS = ("==", "!=", "=", "!", "(", ")", ",", ">", "<")
_SPECIAL = set("=!(),<>")
_SET_OPERATORS = {"in", "notin"}


class SelectorError(ValueError):
    """A selector string does not follow the Kubernetes grammar."""


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            out.append(op)
            i += len(op)
            continue
        j = i
        while j < len(text) and not text[j].isspace() and text[j] not in _SPECIAL:
            j += 1
        out.append(text[i:j])
        i = j
    return out


def _check_key(key: str) -> None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        raise SelectorError(f"invalid label key {key!r}: bad prefix")
    if not name or len(name) > 63 or not _NAME.match(name):
        raise SelectorError(f"invalid label key {key!r}: must be a qualified name")


def _check_value(value: str) -> None:
    if value and (len(value) > 63 or not _NAME.match(value)):
        raise SelectorError(f"invalid label value {value!r}")


@dataclass(frozen=True, slots=True)
class _Requirement:
    key: str
    op: str  # one of exists, !, =, !=, in, notin, >, <
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if not present:
            return False
        try:
            have = int(value)
        except ValueError:
            return False
        limit = int(next(iter(self.values)))
        return have > limit if self.op == ">" else have < limit


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self) -> str | None:
        tok = self.peek()
        self.pos += 1
        return tok

    def ident(self, what: str, *, keywords: bool = False) -> str:
        tok = self.take()
        if tok is None or tok in _OPERATORS or (tok in _SET_OPERATORS and not keywords):
            raise SelectorError(f"expected {what}, found {tok or 'end of string'!r}")
        return tok

    def requirement(self) -> _Requirement:
        if self.peek() == "!":
            self.take()
            key = self.ident("a key after '!'", keywords=True)
            _check_key(key)
            return _Requirement(key, "!")
        key = self.ident("a key", keywords=True)  # "in" is a key unless an operator is due
        _check_key(key)
        op = self.peek()
        if op is None or op == ",":
            return _Requirement(key, "exists")
        self.take()
        if op in ("=", "==", "!="):
            nxt = self.peek()
            value = "" if nxt is None or nxt == "," else self.ident("a value", keywords=True)
            _check_value(value)
            return _Requirement(key, "!=" if op == "!=" else "=", frozenset([value]))
        if op in (">", "<"):
            value = self.ident("an integer", keywords=True)
            if not re.fullmatch(r"[0-9]+", value) or int(value) >= 2**63:  # a label value, int64
                raise SelectorError(f"for '{op}', the value must be an integer, not {value!r}")
            return _Requirement(key, op, frozenset([value]))
        if op in _SET_OPERATORS:
            return _Requirement(key, op, self.value_set(op))
        raise SelectorError(f"unexpected {op!r} after key {key!r}")

    def value_set(self, op: str) -> frozenset[str]:
        if self.take() != "(":
            raise SelectorError(f"expected '(' after {op!r}")
        values: list[str] = []
        expect_value = True
        while True:
            tok = self.take()
            if tok == ")":
                if expect_value:
                    values.append("")  # "()" and "(a,)" hold an empty value, as in Go
                break
            if tok == ",":
                if expect_value:
                    values.append("")  # "(,a)" and "(a,,b)" too
                expect_value = True
                continue
            if tok is None or tok in _OPERATORS or not expect_value:
                raise SelectorError(
                    f"expected a value, ',' or ')', found {tok or 'end of string'!r}"
                )
            _check_value(tok)
            values.append(tok)
            expect_value = False
        return frozenset(values)


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed label selector; all requirements must hold (comma means AND).

    ``LabelSelector.parse("")`` selects everything, as the API server does.
    """

    text: str
    requirements: tuple[_Requirement, ...]

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """Parse ``text`` or raise :class:`SelectorError` with the reason."""
        parser = _Parser(text)
        reqs: list[_Requirement] = []
        while parser.peek() is not None:
            reqs.append(parser.requirement())
            tok = parser.take()
            if tok is None:
                break
            if tok != ",":
                raise SelectorError(f"expected ',' or end of string, found {tok!r}")
            if parser.peek() is None:
                raise SelectorError("a selector can't end with ','")
        return cls(text, tuple(reqs))

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Return whether ``labels`` satisfy every requirement."""
        got = labels or {}
        return all(r.matches(got) for r in self.requirements)


_POD_FIELDS = {
    "metadata.name": ("metadata", "name"),
    "metadata.namespace": ("metadata", "namespace"),
    "spec.nodeName": ("spec", "nodeName"),
    "spec.restartPolicy": ("spec", "restartPolicy"),
    "spec.serviceAccountName": ("spec", "serviceAccountName"),
    "status.phase": ("status", "phase"),
    "status.podIP": ("status", "podIP"),
}


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A parsed pod field selector: ``field=v``, ``field==v`` or ``field!=v``, comma-separated."""

    terms: tuple[tuple[str, bool, str], ...]  # (field, equal, value)

    @classmethod
    def parse(cls, text: str) -> FieldSelector:
        """Parse ``text`` or raise :class:`SelectorError` (unknown field or bad term)."""
        terms: list[tuple[str, bool, str]] = []
        for raw in filter(None, (t.strip() for t in text.split(","))):
            m = re.fullmatch(r"([^=!\s]+)\s*(==|!=|=)\s*(.*)", raw)
            if m is None:
                raise SelectorError(f"invalid field selector term {raw!r}")
            field, op, value = m.groups()
            if field not in _POD_FIELDS:
                raise SelectorError(f'field label not supported: "{field}"')
            terms.append((field, op != "!=", value))
        return cls(tuple(terms))

    def matches(self, obj: Mapping[str, object]) -> bool:
        """Return whether the pod object ``obj`` satisfies every term."""
        for field, equal, value in self.terms:
            section, key = _POD_FIELDS[field]
            part = obj.get(section)
            have = part.get(key, "") if isinstance(part, Mapping) else ""
            if (have == value) != equal:
                return False
        return True
