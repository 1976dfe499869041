"""Seeds derived from tuples of integers, shared by the model's latent stream and the data's random crops.

A neutral utility (imports no other lightgen module), so both :mod:`lightgen.data` and
:mod:`lightgen.models` may use it.
"""

from __future__ import annotations

import hashlib


def mix_seed(*parts: int) -> int:
    """A 63-bit seed from integers (blake2b of their bytes): distinct parts give unrelated streams."""
    digest = hashlib.blake2b(b"".join(int(p).to_bytes(16, "little", signed=True) for p in parts), digest_size=8)
    return int.from_bytes(digest.digest(), "little") & ((1 << 63) - 1)
