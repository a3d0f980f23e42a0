"""Hashtrail: record audit events in a tamper-evident log.

>>> import hashtrail
>>> client = hashtrail.Client("https://audit.example.com", api_key, tenant="acme")
>>> client.record({"action": "project.delete", "targets": [{"type": "project", "id": "7"}]})

See docs/sdk-python.md in the Hashtrail repository.
"""

from . import catalog
from .__about__ import VERSION as __version__
from .admin import Admin, Reader
from .client import Client
from .wire import Receipt, encode_event, format_time
from .context import (
    clear_context,
    client_ip,
    get_actor,
    get_context,
    request_context,
    request_id_or_new,
    set_actor,
    set_context,
)
from .diff import REDACTED, diff, is_secret_name, to_json_value
from .errors import (
    APIError,
    ClientClosed,
    EventDropped,
    HashtrailError,
    RetryError,
    Spooled,
    SpoolError,
)
from .ulid import ULID
from .verify import VerificationError

__all__ = [
    "APIError", "Admin", "Client", "ClientClosed", "EventDropped", "HashtrailError", "REDACTED", "Reader",
    "Receipt", "RetryError", "VerificationError", "SpoolError", "Spooled", "ULID", "__version__", "catalog", "clear_context",
    "client_ip", "diff", "encode_event", "format_time", "get_actor", "get_context", "is_secret_name",
    "request_context", "request_id_or_new", "set_actor", "set_context", "to_json_value",
]
