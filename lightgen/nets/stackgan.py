"""StackGAN's networks (Zhang et al. 2017, "StackGAN: Text to Photo-realistic Image Synthesis with Stacked
Generative Adversarial Networks", sec. 3 and the supplementary's architecture).

- :class:`CAugment`: conditioning augmentation (sec. 3.1): a fully-connected layer maps the text embedding
  phi_t to (mu, log sigma^2); c = mu + sigma * eps, eps ~ N(0, I) given by the caller.
- :class:`Stage1Generator`: [z, c] -> fc -> 4x4 map -> upsampling blocks (nearest x2, 3x3 conv, BN, ReLU)
  -> the low-resolution image, tanh (sec. 3.2).
- :class:`Stage2Generator`: the stage-I image -> downsampling convs, concatenated with c replicated
  spatially -> 3x3 conv -> residual blocks -> upsampling blocks -> the high-resolution image, tanh (sec. 3.3).
- :class:`MatchingDiscriminator`: the matching-aware D of both stages: stride-2 4x4 convs down to 4x4
  (M_d = 4), the text embedding compressed by a fully-connected layer to N_d dims and replicated 4x4,
  concatenated, a 1x1 conv, then a 4x4 conv to one logit (sec. 3.2). Stage II's D is the same network at its
  larger size (more downsampling blocks), as in the paper.
- :class:`StackedGenerator`: CA + G of stage I, and for stage II the frozen stage I before CA + G of stage II.

Every network starts from the official code's initialisation (``weights_init``: N(0, 0.02) weights, batch-norm
scales N(1, 0.02); :func:`lightgen.nets.init.dcgan_init`).

Shapes: embeddings (N, E); z (N, Z); eps (N, c_dim); images (N, C, S, S) with S a power of two >= 8.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.nets.init import dcgan_init


def check_size(size: int, what: str) -> int:
    """log2(size / 4) for a power-of-two size >= 8, else a one-line error."""
    if size < 8 or size & (size - 1):
        raise LightgenError(f"{what} must be a power of two >= 8; got {size}")
    return int(math.log2(size)) - 2


class CAugment(nn.Module):
    """Conditioning augmentation (sec. 3.1): c = mu(phi_t) + sigma(phi_t) * eps, eps ~ N(0, I).

    As the official code: one linear layer to 2 * c_dim, a ReLU, then the halves are mu and log sigma^2.
    """

    def __init__(self, embed_dim: int, c_dim: int) -> None:
        super().__init__()
        self.c_dim = c_dim
        self.fc = nn.Sequential(nn.Linear(embed_dim, 2 * c_dim), nn.ReLU())
        self.apply(dcgan_init)

    def stats(self, embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar), each (N, c_dim)."""
        mu, logvar = self.fc(embedding).chunk(2, dim=1)
        return mu, logvar

    def forward(self, embedding: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(c, mu, logvar): c = mu + exp(logvar / 2) * eps, the reparameterised draw (N, c_dim)."""
        mu, logvar = self.stats(embedding)
        return mu + torch.exp(0.5 * logvar) * eps, mu, logvar


def up_block(cin: int, cout: int) -> nn.Sequential:
    """Nearest-neighbour x2 upsampling, 3x3 conv, batch norm, ReLU (the paper's upsampling block)."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Stage1Generator(nn.Module):
    """G_0(z, c) -> (N, C, S, S) in [-1, 1]: 4x4 map of width * 2^k channels, k = log2(S / 4) up blocks."""

    def __init__(self, z_dim: int, c_dim: int, out_shape: tuple[int, int, int], width: int = 32) -> None:
        super().__init__()
        channels, size = out_shape[0], out_shape[-1]
        ups = check_size(size, "stage I's image size")
        top = width * 2**ups
        self.top = top
        self.fc = nn.Sequential(nn.Linear(z_dim + c_dim, top * 16, bias=False), nn.BatchNorm1d(top * 16), nn.ReLU())
        blocks = [up_block(width * 2 ** (ups - i), width * 2 ** (ups - i - 1)) for i in range(ups)]
        self.body = nn.Sequential(*blocks, nn.Conv2d(width, channels, 3, padding=1), nn.Tanh())
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, c], dim=1)).view(z.shape[0], self.top, 4, 4)
        return self.body(h)


class ResBlock(nn.Module):
    """x + [3x3 conv, BN, ReLU, 3x3 conv, BN](x), then ReLU (the official stage-II residual block)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class Stage2Generator(nn.Module):
    """G(s_0, c) -> (N, C, S, S): s_0 (N, C, S_0, S_0) is downsampled ``down`` times (stride-2 4x4 convs) to
    M_g = S_0 / 2^down, joined with c replicated M_g x M_g, then residual blocks and up blocks to S.

    The paper (64 -> 256) uses M_g = 16 = S_0 / 4; at 16 -> 64 px the default ``down=1`` keeps an 8x8 map
    (a 4x4 map would leave the residual blocks' 3x3 convs mostly padding).
    """

    def __init__(
        self,
        c_dim: int,
        in_shape: tuple[int, int, int],
        out_shape: tuple[int, int, int],
        width: int = 32,
        res_blocks: int = 2,
        down: int = 1,
    ) -> None:
        super().__init__()
        channels, s0, size = in_shape[0], in_shape[-1], out_shape[-1]
        check_size(s0, "stage I's image size")
        check_size(size, "stage II's image size")
        mid = s0 // 2**down
        if down < 0 or mid < 4 or size <= s0:
            raise LightgenError(
                f"stage II needs down in [0, log2({s0}/4)] and a larger output; got {down}, {s0}->{size}"
            )
        ups = int(math.log2(size // mid))
        wide = width * 2**down
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True)]
        for i in range(down):
            cin, cout = width * 2**i, width * 2 ** (i + 1)
            layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        self.encode = nn.Sequential(*layers)
        self.joint = nn.Sequential(
            nn.Conv2d(wide + c_dim, wide, 3, padding=1, bias=False), nn.BatchNorm2d(wide), nn.ReLU(inplace=True)
        )
        self.residual = nn.Sequential(*(ResBlock(wide) for _ in range(res_blocks)))
        chans = [max(wide // 2**i, 8) for i in range(ups + 1)]
        ups_layers = [up_block(chans[i], chans[i + 1]) for i in range(ups)]
        self.decode = nn.Sequential(*ups_layers, nn.Conv2d(chans[-1], out_shape[0], 3, padding=1), nn.Tanh())
        self.apply(dcgan_init)

    def forward(self, image: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.encode(image)
        planes = c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.decode(self.residual(self.joint(torch.cat([h, planes], dim=1))))


class MatchingDiscriminator(nn.Module):
    """D(x, phi_t) -> logits (N,): image features at 4x4 joined with the compressed text embedding.

    Args:
        image_shape: (C, S, S), S a power of two >= 8 (k = log2(S / 4) stride-2 blocks).
        embed_dim: E, the text embedding's size.
        width: channels of the first block (doubling per block; the first has no batch norm, as DCGAN).
        text_dim: N_d, the compressed embedding (the paper: 128).
    """

    def __init__(self, image_shape: tuple[int, int, int], embed_dim: int, width: int = 32, text_dim: int = 32) -> None:
        super().__init__()
        blocks = check_size(image_shape[-1], "the discriminator's image size")
        layers: list[nn.Module] = [nn.Conv2d(image_shape[0], width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        for i in range(1, blocks):
            cin, cout = width * 2 ** (i - 1), width * 2**i
            layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True)]
        self.image = nn.Sequential(*layers)
        top = width * 2 ** (blocks - 1)
        self.text = nn.Sequential(nn.Linear(embed_dim, text_dim), nn.LeakyReLU(0.2, inplace=True))
        self.joint = nn.Sequential(
            nn.Conv2d(top + text_dim, top, 1, bias=False), nn.BatchNorm2d(top), nn.LeakyReLU(0.2, inplace=True)
        )
        self.out = nn.Conv2d(top, 1, 4)
        self.apply(dcgan_init)

    def features(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """The joint features after the 1x1 conv, flattened (N, F) (for feature matching)."""
        h = self.image(x)
        text = self.text(embedding)[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.joint(torch.cat([h, text], dim=1)).flatten(1)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        h = self.image(x)
        text = self.text(embedding)[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.out(self.joint(torch.cat([h, text], dim=1))).view(x.shape[0])


class StackedGenerator(nn.Module):
    """The text-to-image chain. Stage I: (noise = [z, eps_0], phi_t) -> G_0(z, CA_0(phi_t, eps_0)). Stage II
    (``stage1`` given): noise = [z, eps_0, eps], G(G_0(z, c_0), CA(phi_t, eps)).

    A given ``stage1`` is frozen, as the paper trains stage II (sec. 3.3): no gradients, and always in eval mode
    (its batch norms keep their running statistics whatever ``train()`` is called on the chain).
    """

    def __init__(self, augment: CAugment, net: nn.Module, z_dim: int, stage1: StackedGenerator | None = None) -> None:
        super().__init__()
        self.augment, self.net, self.z_dim, self.stage1 = augment, net, z_dim, stage1
        if stage1 is not None:
            stage1.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> StackedGenerator:
        super().train(mode)
        if self.stage1 is not None:
            self.stage1.eval()
        return self

    @property
    def noise_blocks(self) -> list[int]:
        """The noise each stage adds, in order: [z_dim + c_0 (, c)]."""
        if self.stage1 is None:
            return [self.z_dim + self.augment.c_dim]
        return [*self.stage1.noise_blocks, self.augment.c_dim]

    @property
    def noise_dim(self) -> int:
        return sum(self.noise_blocks)

    def stages(self, noise: torch.Tensor, embedding: torch.Tensor) -> list[torch.Tensor]:
        """Every stage's image, lowest resolution first."""
        own = self.augment.c_dim
        head, eps = noise[:, : noise.shape[1] - own], noise[:, noise.shape[1] - own :]
        c, _, _ = self.augment(embedding, eps)
        if self.stage1 is None:
            return [self.net(head, c)]
        previous = self.stage1.stages(head, embedding)
        return [*previous, self.net(previous[-1], c)]

    def forward(self, noise: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        return self.stages(noise, embedding)[-1]
