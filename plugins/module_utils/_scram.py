# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Darevel platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SCRAM-SHA-256 verifiers computed on the client (RFC 5802 / RFC 7677), as PostgreSQL stores them.

Sending the verifier instead of the password means no clear-text password reaches the server,
its statement log or pg_stat_statements.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from typing import Optional

ITERATIONS = 4096
SALT_BYTES = 16
_VERIFIER_RE = re.compile(r"^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)\Z")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def verifier(password: str, salt: Optional[bytes] = None, iterations: int = ITERATIONS) -> str:
    """The string PostgreSQL keeps in pg_authid.rolpassword for this password."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return "SCRAM-SHA-256$%d:%s$%s:%s" % (iterations, _b64(salt), _b64(stored_key), _b64(server_key))


def matches(password: str, stored: Optional[str]) -> bool:
    """True when `stored` is a SCRAM verifier of `password` (any other format: False)."""
    found = _VERIFIER_RE.match(stored or "")
    if not found:
        return False
    iterations, salt = int(found.group(1)), base64.b64decode(found.group(2))
    return hmac.compare_digest(verifier(password, salt, iterations), stored)
