"""Content-Security-Policy sources, defined once for every page that allows an inline script by its hash."""

from __future__ import annotations

import base64
import hashlib


def script_hash_source(script: str | bytes) -> str:
    """The ``script-src`` source allowing exactly this inline script (the text between its tags), and no other."""
    text = script.encode() if isinstance(script, str) else script
    return f"'sha256-{base64.b64encode(hashlib.sha256(text).digest()).decode()}'"
