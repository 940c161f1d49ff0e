"""Names made from gate keys: file stems for the gallery folder and element ids for the HTML
report.

A gate's key (its node id, or its name) is user text of any length and any characters: a
300-character name is longer than a file name may be, and `a/b`, `a_b` and `a b` look the same
once their unsafe characters are replaced. So every name made from a key is its readable part
(unsafe characters replaced, cut to `READABLE` characters) followed by a short hash of the whole
key: bounded, safe on every file system (ASCII letters, digits, `._-` only; the lower-case hash
also tells apart keys that differ only in case on a case-insensitive one), and different for
different keys.
"""

from __future__ import annotations

import hashlib
import re

#: The longest readable part; with the hash and ".curve.png" a gallery file name stays under
#: 80 characters, far below the 255 bytes file systems allow.
READABLE = 60
#: Hex digits of the key's sha256 kept: 32 bits, so two gates of one run share a name with odds
#: of about n^2 / 2^33 (one in a hundred thousand for 100 gates).
HASH_DIGITS = 8


def key_hash(key: str) -> str:
    """The first HASH_DIGITS hex digits of the key's sha256 (lone surrogates kept as bytes)."""
    data = key.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:HASH_DIGITS]


def slug(key: str, unsafe: str = r"[^A-Za-z0-9._-]+", fill: str = "_") -> str:
    """`key`'s readable part and its hash, e.g. `onepixel.yaml_a_b-1f0c9e2a` for
    `onepixel.yaml::a/b`: runs of characters matching `unsafe` become `fill`, leading and trailing
    punctuation goes (no hidden or dot files), and the rest is cut to READABLE characters."""
    readable = re.sub(unsafe, fill, key).strip("._-")[:READABLE].rstrip("._-") or "gate"
    return f"{readable}-{key_hash(key)}"
