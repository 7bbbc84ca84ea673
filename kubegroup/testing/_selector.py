"""The fake API server's own label and field selectors (the oracle's, not kubegroup's).

Written from the Kubernetes selector grammar (apimachinery ``labels`` and ``fields``), on
purpose independently of ``kubegroup._selector``: the fake judges kubegroup, so it must not
share the code it judges. tests/kubegroup/testing/test_selector.py checks both against
answers observed on kube-apiserver v1.37.2.

Labels: a lexer (identifiers; the symbols ``! != = == > < ( ) ,``) and a recursive-descent
parser; ``in``/``notin`` are keywords only where an operator is expected, so ``in=x`` is a
key named ``in``. ``k > n`` needs a value that is a label value and a 64-bit integer.
Fields: terms split on unescaped commas, the operator is the first ``!=``, ``==`` or ``=``,
nothing is trimmed, and ``\\`` escapes ``,``, ``=`` and ``\\`` in values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FieldQuery", "LabelQuery", "QueryError"]

_KEY_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_GO_INT = re.compile(r"[+-]?[0-9]+")
_SYMBOLS = frozenset("!=<>(),")
_WHITESPACE = frozenset(" \t\r\n")
_INT64 = 2**63


class QueryError(ValueError):
    """The API server would answer this selector with 400 Bad Request."""


def _lex(text: str) -> list[tuple[str, str]]:
    """Tokens as ``(kind, text)``: kind is ``"id"`` or the symbol itself; ``("end", "")`` last."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        if text[i] in _WHITESPACE:
            i += 1
        elif text[i] in _SYMBOLS:
            two = text[i : i + 2]
            sym = two if two in ("!=", "==") else text[i]
            out.append((sym, sym))
            i += len(sym)
        else:
            j = i
            while j < len(text) and text[j] not in _WHITESPACE and text[j] not in _SYMBOLS:
                j += 1
            out.append(("id", text[i:j]))
            i = j
    out.append(("end", ""))
    return out


def _go_int(text: str) -> int | None:
    """Go's ``strconv.ParseInt(text, 10, 64)``, or None where it fails."""
    if not _GO_INT.fullmatch(text):
        return None
    value = int(text)
    return value if -_INT64 <= value < _INT64 else None


def _valid_key(key: str) -> None:
    prefix, slash, name = key.rpartition("/")
    if slash:
        if not prefix:
            raise QueryError(f'"{key}": prefix part must be non-empty')
        if len(prefix) > 253 or not _SUBDOMAIN.fullmatch(prefix):
            raise QueryError(f'"{key}": prefix part must be a lowercase RFC 1123 subdomain')
    if len(name) > 63:
        raise QueryError(f'"{key}": name part must be no more than 63 bytes')
    if not _KEY_NAME.fullmatch(name):
        raise QueryError(f'"{key}": not a valid label key')


def _valid_value(value: str) -> None:
    if len(value) > 63:
        raise QueryError(f'"{value}": must be no more than 63 bytes')
    if not _LABEL_VALUE.fullmatch(value):
        raise QueryError(f'"{value}": a valid label must be an empty string or alphanumeric')


Match = Callable[[Mapping[str, str]], bool]


def _requirement(key: str, op: str, values: frozenset[str]) -> Match:
    if op in (">", "<"):
        (raw,) = values
        limit = _go_int(raw)
        if limit is None:
            raise QueryError(f"\"{raw}\": for 'Gt', 'Lt' operators, the value must be an integer")

        def compare(labels: Mapping[str, str]) -> bool:
            have = _go_int(labels[key]) if key in labels else None
            return have is not None and (have > limit if op == ">" else have < limit)

        return compare
    if op == "exists":
        return lambda labels: key in labels
    if op == "!":
        return lambda labels: key not in labels
    if op in ("=", "==", "in"):
        return lambda labels: key in labels and labels[key] in values
    return lambda labels: key not in labels or labels[key] not in values


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.at = 0

    def next(self) -> tuple[str, str]:
        tok = self.tokens[self.at]
        self.at += 1
        return tok

    def peek(self) -> str:
        return self.tokens[self.at][0]

    def selector(self) -> list[Match]:
        reqs: list[Match] = []
        while True:
            kind, lit = self.tokens[self.at]
            if kind == "end":
                return reqs
            if kind not in ("id", "!"):
                raise QueryError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.requirement())
            except QueryError as exc:
                raise QueryError(f"unable to parse requirement: {exc}") from None
            kind, lit = self.next()
            if kind == "end":
                return reqs
            if kind != ",":
                raise QueryError(f"found '{lit}', expected: ',' or 'end of string'")
            if self.peek() not in ("id", "!"):
                raise QueryError(f"found '{self.tokens[self.at][1]}', expected: identifier")

    def requirement(self) -> Match:
        kind, key = self.next()
        negated = kind == "!"
        if negated:
            kind, key = self.next()
        if kind != "id":
            raise QueryError(f"found '{key}', expected: identifier")
        _valid_key(key)
        if self.peek() in ("end", ","):
            return _requirement(key, "!" if negated else "exists", frozenset())
        if negated:
            return _requirement(key, "!", frozenset())  # the caller then trips on what follows
        kind, op = self.next()
        if kind == "id" and op in ("in", "notin"):
            values = self.value_set()
        elif kind in ("=", "==", "!=", ">", "<"):
            values = self.single_value()
        else:
            raise QueryError(f"found '{op}', expected: in, notin, =, ==, !=, gt, lt")
        for value in values:
            _valid_value(value)
        return _requirement(key, op, values)

    def single_value(self) -> frozenset[str]:
        if self.peek() in ("end", ","):
            return frozenset([""])
        kind, lit = self.next()
        if kind != "id":
            raise QueryError(f"found '{lit}', expected: identifier")
        return frozenset([lit])

    def value_set(self) -> frozenset[str]:
        kind, lit = self.next()
        if kind != "(":
            raise QueryError(f"found '{lit}' expected: '('")
        values: set[str] = set()
        want_value = True  # right after "(" or ","
        while True:
            kind, lit = self.next()
            if kind == ")":
                if want_value:
                    values.add("")  # "()", "(a,)"
                return frozenset(values)
            if kind == ",":
                if want_value:
                    values.add("")  # "(,a)", "(a,,b)"
                want_value = True
            elif kind == "id" and want_value:
                values.add(lit)
                want_value = False
            else:
                raise QueryError(f"found '{lit}', expected: ',', ')' or identifier")


@dataclass(frozen=True, slots=True)
class LabelQuery:
    """A parsed label selector: every requirement must hold; ``""`` selects everything."""

    text: str
    _reqs: tuple[Match, ...]

    @classmethod
    def parse(cls, text: str) -> LabelQuery:
        """Parse ``text`` or raise :class:`QueryError`."""
        return cls(text, tuple(_LabelParser(text).selector()))

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether ``labels`` satisfy every requirement."""
        have = labels or {}
        return all(req(have) for req in self._reqs)


def _pod_fields(pod: Mapping[str, Any]) -> dict[str, str]:
    """The field set the apiserver's pod strategy exposes to field selectors."""
    meta, spec, status = (pod.get(k) or {} for k in ("metadata", "spec", "status"))
    return {
        "metadata.name": str(meta.get("name", "")),
        "metadata.namespace": str(meta.get("namespace", "")),
        "spec.nodeName": str(spec.get("nodeName", "")),
        "spec.restartPolicy": str(spec.get("restartPolicy", "")),
        "spec.schedulerName": str(spec.get("schedulerName", "default-scheduler")),
        "spec.serviceAccountName": str(spec.get("serviceAccountName", "")),
        "spec.hostNetwork": "true" if spec.get("hostNetwork") else "false",
        "status.phase": str(status.get("phase", "")),
        "status.podIP": str(status.get("podIP", "")),
        "status.nominatedNodeName": str(status.get("nominatedNodeName", "")),
    }


_FIELDS = frozenset(_pod_fields({}))


def _split_terms(text: str) -> list[str]:
    terms, start, escaped = [], 0, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _unescape(value: str) -> str:
    out: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            if nxt not in ("\\", ",", "="):
                raise QueryError(f"invalid field selector: invalid escape sequence: \\{nxt}")
            out.append(nxt)
        elif ch in ",=":
            raise QueryError(f"invalid field selector: unescaped character in value: {ord(ch)}")
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class FieldQuery:
    """A parsed pod field selector: ``f=v``, ``f==v``, ``f!=v``, comma-separated (AND)."""

    terms: tuple[tuple[str, bool, str], ...]  # (field, equal, value)

    @classmethod
    def parse(cls, text: str) -> FieldQuery:
        """Parse ``text`` or raise :class:`QueryError`."""
        terms: list[tuple[str, bool, str]] = []
        for term in filter(None, _split_terms(text)):
            m = re.search(r"!=|==|=", term)
            if m is None:
                raise QueryError(f"invalid selector: '{text}'; can't understand '{term}'")
            field, value = term[: m.start()], _unescape(term[m.end() :])
            if field not in _FIELDS:
                raise QueryError(f"field label not supported: {field}")
            terms.append((field, m.group() != "!=", value))
        return cls(tuple(terms))

    def matches(self, pod: Mapping[str, Any]) -> bool:
        """Whether the pod object satisfies every term."""
        fields = _pod_fields(pod)
        return all((fields[f] == v) == equal for f, equal, v in self.terms)
