"""Reading a watch stream: lines across chunks, the line cap, and the error mapping."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable, Iterator
from typing import cast

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from kubegroup import KubeAPIError, KubeConnectionError
from kubegroup._stream import MAX_LINE, lines, wrap_error


class FakeResponse:
    """Just enough of a urllib3 response for ``lines``: chunks, and how many were read."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.bytes_read = 0

    def stream(self, amt: int | None = None, decode_content: bool | None = None) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.bytes_read += len(chunk)
            yield chunk


def read(chunks: Iterable[bytes], max_line: int = MAX_LINE) -> list[bytes]:
    return list(lines(cast("urllib3.BaseHTTPResponse", FakeResponse(chunks)), max_line))


def test_lines_are_split_across_and_within_chunks_and_blank_lines_are_skipped() -> None:
    chunks = [b'{"a"', b":1}\n\n", b"  \n{}\n[", b"1]\n", b"\n", b"tail"]
    assert read(chunks) == [b'{"a":1}', b"{}", b"[1]", b"tail"]
    assert read([b"x\n", b" \t"]) == [b"x"]
    assert read([]) == []


def test_a_line_of_exactly_the_cap_passes_and_one_byte_more_fails() -> None:
    assert read([b"abcd", b"ef\nxy\n"], max_line=6) == [b"abcdef", b"xy"]
    with pytest.raises(ValueError, match="longer than 6 bytes"):
        read([b"abcd", b"efg\n"], max_line=6)
    with pytest.raises(ValueError, match="longer than 6 bytes"):
        read([b"abcdefg"], max_line=6)  # also at the end of the stream


def test_a_stream_without_newline_is_refused_before_the_cap_is_exceeded() -> None:
    """Memory stays bounded: reading stops within one chunk of the cap."""
    chunk, cap = b"x" * 1024, 64 * 1024
    response = FakeResponse([chunk] * 4096)  # 4 MiB with no newline
    with pytest.raises(ValueError, match="longer than"):
        list(lines(cast("urllib3.BaseHTTPResponse", response), cap))
    assert response.bytes_read <= cap + len(chunk)


def test_the_default_cap_is_16_mib() -> None:
    assert MAX_LINE == 16 << 20


def test_a_tls_failure_is_a_connection_error_not_an_api_status() -> None:
    """The client turns urllib3's SSLError into ApiException(status=0)."""
    err = wrap_error(ApiException(status=0, reason="SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED]"))
    assert isinstance(err, KubeConnectionError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(err)


def test_statuses_and_malformed_responses_are_api_errors() -> None:
    err = wrap_error(ApiException(status=429, reason="Too Many Requests"))
    assert isinstance(err, KubeAPIError)
    assert err.status == 429
    bad = wrap_error(ValueError("a watch line longer than 9 bytes"))
    assert isinstance(bad, KubeAPIError)
    assert (bad.status, bad.reason) == (200, "InvalidResponse")
    assert isinstance(wrap_error(OSError("refused")), KubeConnectionError)


def test_a_huge_http_chunk_is_read_in_bounded_pieces() -> None:
    """A chunk header claiming 2 GiB must not make urllib3 wait for all of it at once."""
    listener = socket.create_server(("127.0.0.1", 0))
    served = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7fffffff\r\n"
                + b"x" * (300 << 10)  # then silence, the connection held open
            )
            served.wait(30)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    try:
        with urllib3.PoolManager() as http:
            resp = http.request(
                "GET",
                f"http://127.0.0.1:{port}/",
                preload_content=False,
                timeout=urllib3.Timeout(connect=5, read=5),
                retries=False,
            )
            with pytest.raises(ValueError, match="longer than 100000 bytes"):
                list(lines(resp, max_line=100_000))
            resp.release_conn()
    finally:
        served.set()
        thread.join(5)
        listener.close()
