from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetRequest(_message.Message):
    __slots__ = ("group", "key")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    group: str
    key: str
    def __init__(self, group: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ("value", "minute_qps", "expire")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    MINUTE_QPS_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_FIELD_NUMBER: _ClassVar[int]
    value: bytes
    minute_qps: float
    expire: int
    def __init__(self, value: _Optional[bytes] = ..., minute_qps: _Optional[float] = ..., expire: _Optional[int] = ...) -> None: ...

class SetRequest(_message.Message):
    __slots__ = ("group", "key", "value", "expire")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_FIELD_NUMBER: _ClassVar[int]
    group: str
    key: str
    value: bytes
    expire: int
    def __init__(self, group: _Optional[str] = ..., key: _Optional[str] = ..., value: _Optional[bytes] = ..., expire: _Optional[int] = ...) -> None: ...

class RemoveKeysRequest(_message.Message):
    __slots__ = ("group", "keys")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    group: str
    keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, group: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ...) -> None: ...

class GetBatchRequest(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, keys: _Optional[_Iterable[bytes]] = ...) -> None: ...

class GetBatchItem(_message.Message):
    __slots__ = ("value", "expire", "status", "error", "grace", "negative_ttl", "minute_qps")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    GRACE_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_TTL_FIELD_NUMBER: _ClassVar[int]
    MINUTE_QPS_FIELD_NUMBER: _ClassVar[int]
    value: bytes
    expire: int
    status: int
    error: str
    grace: float
    negative_ttl: float
    minute_qps: float
    def __init__(self, value: _Optional[bytes] = ..., expire: _Optional[int] = ..., status: _Optional[int] = ..., error: _Optional[str] = ..., grace: _Optional[float] = ..., negative_ttl: _Optional[float] = ..., minute_qps: _Optional[float] = ...) -> None: ...

class GetBatchResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[GetBatchItem]
    def __init__(self, items: _Optional[_Iterable[_Union[GetBatchItem, _Mapping]]] = ...) -> None: ...
