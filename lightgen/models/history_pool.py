"""The history of generated images that CycleGAN's discriminators see (Shrivastava et al. 2017, "Learning from
Simulated and Unsupervised Images through Adversarial Training", sec. 2.3; Zhu et al. 2017, sec. 4: "we update
the discriminators using a history of generated images rather than the ones produced by the latest
generators ... an image buffer that stores the 50 previously created images").

The rule of the authors' code (pytorch-CycleGAN-and-pix2pix, ``util/image_pool.py``), image by image: while
the pool holds fewer than ``capacity`` images, the incoming image is stored and returned; once full, with
probability 1/2 the incoming image is returned as it is, otherwise a uniformly chosen stored image is
returned and replaced by the incoming one.

The draws come from a ``torch.Generator`` passed in (the model passes one of its keyed random streams, so a
resumed run draws the same numbers), and the choice is made on the device with ``torch.where``: no draw
forces a host-device synchronisation. The contents are not part of ``state_dict`` (they are training state,
not weights): the model saves :meth:`ImagePool.get_state` in its checkpoints and restores it on resume.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lightgen.errors import LightgenError


class ImagePool(nn.Module):
    """A pool of at most ``capacity`` images of shape ``image_shape`` (0: no pool, images pass through).

    Args:
        capacity: images kept (50 in CycleGAN).
        image_shape: (C, H, W) of one image.
    """

    def __init__(self, capacity: int, image_shape: tuple[int, ...]) -> None:
        super().__init__()
        if capacity < 0:
            raise LightgenError(f"the history pool's capacity must be >= 0; got {capacity}")
        self.capacity = int(capacity)
        self.image_shape = tuple(int(s) for s in image_shape)
        # a non-persistent buffer: it follows the model's device, and checkpoints hold it through get_state
        self.register_buffer("images", torch.zeros(self.capacity, *self.image_shape), persistent=False)
        self.count = 0

    def __len__(self) -> int:
        return self.count

    @torch.no_grad()
    def query(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The images D sees for the batch ``images`` (N, C, H, W), updating the pool (see the module docstring)."""
        if tuple(images.shape[1:]) != self.image_shape:
            raise LightgenError(
                f"the history pool holds images of shape {self.image_shape}; got {tuple(images.shape[1:])}"
            )
        images = images.detach()
        if self.capacity == 0:
            return images
        n = images.shape[0]
        device = generator.device if generator is not None else images.device
        # two draws per image, made whether or not the pool is full, so the stream's use never depends on it
        swap = torch.rand(n, generator=generator, device=device).to(images.device) > 0.5
        slot = torch.randint(self.capacity, (n, 1), generator=generator, device=device).to(images.device)
        out = []
        for i in range(n):
            x = images[i : i + 1]
            if self.count < self.capacity:  # filling: store and return the image itself
                self.images[self.count] = x[0].to(self.images.dtype)
                self.count += 1
                out.append(x)
                continue
            stored = self.images.index_select(0, slot[i]).to(x.dtype)
            out.append(torch.where(swap[i], stored, x))
            self.images.index_copy_(0, slot[i], torch.where(swap[i], x, stored).to(self.images.dtype))
        return torch.cat(out)

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> dict[str, Any]:
        """The stored images (count, C, H, W) on the CPU and their count, for a checkpoint."""
        return {"images": self.images[: self.count].detach().cpu().clone(), "count": self.count}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned."""
        images = torch.as_tensor(state["images"])
        count = int(state.get("count", len(images)))
        if count > self.capacity or tuple(images.shape[1:]) != self.image_shape or len(images) != count:
            raise LightgenError(
                f"a saved history pool of {count} images of shape {tuple(images.shape[1:])} does not fit this pool "
                f"({self.capacity} images of shape {self.image_shape})"
            )
        self.images.zero_()
        self.images[:count] = images.to(self.images)
        self.count = count
