"""The wire form of events and receipts (DESIGN §1, §3)."""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import uuid
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

from .diff import to_json_value


@dataclass(frozen=True)
class Receipt:
    """The server's answer for one recorded event: it is durable."""

    tenant: str
    id: str
    seq: int
    received_at: str
    leaf_hash: Optional[str] = None

    @classmethod
    def from_answer(cls, r: Mapping[str, Any]) -> "Receipt":
        """A Receipt from one row of an ingest answer."""
        return cls(tenant=str(r.get("tenant", "")), id=str(r.get("id", "")), seq=int(r.get("seq", 0)),
                   received_at=str(r.get("received_at", "")), leaf_hash=r.get("leaf_hash"))


def format_time(t: Union[datetime.datetime, datetime.date, float, int]) -> str:
    """An RFC 3339 UTC timestamp with microseconds, as the server stores
    times. A naive datetime is local time (Python's convention); a number is
    a Unix time."""
    if isinstance(t, (int, float)):
        dt = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    elif isinstance(t, datetime.datetime):
        dt = t.astimezone(datetime.timezone.utc)
    else:
        dt = datetime.datetime(t.year, t.month, t.day, tzinfo=datetime.timezone.utc)
    return dt.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


_ENCODABLE = (datetime.datetime, datetime.date, datetime.time, decimal.Decimal, uuid.UUID, enum.Enum,
              set, frozenset, bytes, bytearray)


def _json_default(v: Any) -> Any:
    """Encode the usual non-JSON values (datetimes as ISO 8601, decimals and
    UUIDs as strings, enums by value, sets as lists); anything else is an
    error rather than its repr."""
    if isinstance(v, _ENCODABLE):
        return to_json_value(v)
    raise TypeError("a %s is not JSON-encodable" % type(v).__name__)


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The event's wire JSON (UTF-8, compact)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode("utf-8")
