"""ULIDs: 48-bit millisecond time plus 80 random bits, Crockford base32.

Ids made by one process are strictly increasing (monotonic within a
millisecond), like the Go SDK's ``hashtrail.NewEventID``.
"""

from __future__ import annotations

import base64
import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# base64's RFC 4648 base32 alphabet, translated to Crockford's.
_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)
_lock = threading.Lock()
_last_ms = -1
_last_rand = 0


def ULID() -> str:
    """Return a new ULID (26 characters), usable as an event ``id``."""
    global _last_ms, _last_rand
    ms = time.time_ns() // 1_000_000
    with _lock:
        if ms <= _last_ms:
            ms = _last_ms
            rand = _last_rand + 1
            if rand >= 1 << 80:  # overflow within one millisecond: borrow the next
                ms += 1
                rand = int.from_bytes(os.urandom(10), "big")
        else:
            rand = int.from_bytes(os.urandom(10), "big")
        _last_ms, _last_rand = ms, rand
    # 130 bits (26 characters of 5 bits), shifted to fill 17 bytes.
    n = ((ms << 80) | rand) << 6
    return base64.b32encode(n.to_bytes(17, "big")).decode("ascii")[:26].translate(_TO_CROCKFORD)
