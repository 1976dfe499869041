"""Shape checks shared by the networks: one-line errors that name the bad shape and what fits."""

from __future__ import annotations

from collections.abc import Sequence

from lightgen.errors import LightgenError


def image_shape(shape: Sequence[int], what: str) -> tuple[int, int, int]:
    """``shape`` as (C, H, W) with C in {1, 3} and H == W, else a one-line ValueError."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or shape[0] not in (1, 3) or shape[1] != shape[2]:
        raise LightgenError(f"{what} expects square images of shape (1 or 3, S, S); got {shape}")
    return shape  # type: ignore[return-value]


def dcgan_base_size(size: int, what: str) -> tuple[int, int]:
    """(base, n_doublings) with ``size = base * 2**n_doublings``, base 4 or 7 and size >= 16.

    A DCGAN starts from a ``base x base`` map and doubles it with stride-2 (transposed)
    convolutions: 28 = 7*2^2, 32 = 4*2^3, 64 = 4*2^4, 128 = 4*2^5.
    """
    for base in (4, 7):
        n, rest = 0, size
        while rest > base and rest % 2 == 0:
            rest //= 2
            n += 1
        if rest == base and n >= 2:
            return base, n
    raise LightgenError(
        f"{what} cannot build a network for {size}x{size} images: the size must be 4*2^k or 7*2^k "
        f"with k >= 2 (e.g. 28, 32, 64, 128)"
    )
