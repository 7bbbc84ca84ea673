"""Calling the user's getter: async functions are awaited, plain ones run in a thread.

The ``Getter`` interface of groupcache.go, adapted to Python: a getter returns bytes or a
:class:`~groupcache.Value` instead of filling a Sink, and its exceptions pass unchanged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

from .._errors import GroupcacheError
from .value import Value, to_value

R = TypeVar("R")
Result: TypeAlias = bytes | bytearray | memoryview | Value
AnyGetter: TypeAlias = Callable[[str], Any]
Getter: TypeAlias = Callable[[str], Awaitable[R | Value] | R | Value]
"""A group's getter: returns its codec's type (bytes by default) or a :class:`Value`."""
BytesGetter: TypeAlias = Callable[[str], Awaitable[Result] | Result]
"""The getter of a group without a codec: bytes-like data or a :class:`Value`."""


class GetterCaller:
    """Calls a getter the right way for its kind and normalises what it returns.

    Args:
        getter: ``async def getter(key)`` or a plain function; either returns bytes-like
            data or a :class:`Value` (a plain function may also return an awaitable).
        executor: Where plain functions run; ``None`` is the loop's default executor.
            Context variables are copied into the thread, as ``asyncio.to_thread`` does.
        encode: Turns a result that is not a :class:`Value` into bytes (a group's codec);
            ``None``: results are bytes-like already.
    """

    __slots__ = ("_encode", "_executor", "_getter", "_is_async")

    def __init__(
        self,
        getter: AnyGetter,
        executor: concurrent.futures.Executor | None = None,
        encode: Callable[[Any], bytes] | None = None,
    ) -> None:
        self._getter = getter
        self._executor = executor
        self._encode = encode
        self._is_async = inspect.iscoroutinefunction(getter) or inspect.iscoroutinefunction(
            getattr(getter, "__call__", None)  # noqa: B004 - async __call__ of an object
        )

    async def __call__(self, key: str) -> Value:
        """Return the getter's value for ``key``.

        Raises:
            InvalidValueError: the getter returned something that is not bytes-like.
            GroupcacheError: the getter raised ``CancelledError`` although nobody cancelled
                the load (passed on, it would look like a cancellation to every waiter).
            Exception: the getter's own exception, unchanged.
        """
        result: Any
        try:
            if self._is_async:
                result = await self._getter(key)
            else:
                call = functools.partial(contextvars.copy_context().run, self._getter, key)
                result = await asyncio.get_running_loop().run_in_executor(self._executor, call)
            if inspect.isawaitable(result):
                result = await result
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise
            raise GroupcacheError(
                f"the getter raised CancelledError for {key[:64]!r} without being cancelled"
            ) from exc
        if self._encode is not None and not isinstance(result, Value):
            result = self._encode(result)  # a typed value: the group's codec's bytes
        return to_value(result)
