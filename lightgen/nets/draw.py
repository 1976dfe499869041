"""DRAW's networks (Gregor et al. 2015, "DRAW: A Recurrent Neural Network For Image Generation").

Selective attention (sec. 3.2): an N x N grid of Gaussian filters, placed by five numbers emitted
from the decoder state (eq. 21),
    (g~_X, g~_Y, log sigma^2, log delta~, log gamma) = W(h_dec)
    g_X = (A + 1)/2 (g~_X + 1),  g_Y = (B + 1)/2 (g~_Y + 1),  delta = (max(A, B) - 1)/(N - 1) delta~   (eq. 22-24)
    mu_X^i = g_X + (i - N/2 - 0.5) delta,  mu_Y^j = g_Y + (j - N/2 - 0.5) delta                       (eq. 19-20)
    F_X[i, a] = exp(-(a - mu_X^i)^2 / 2 sigma^2) / Z_X,  rows normalized: sum_a F_X[i, a] = 1      (eq. 25-26)
read:  r = gamma [F_Y x F_X^T, F_Y x^ F_X^T]                                                       (eq. 27)
write: w = W(h_dec) (an N x N patch), write = 1/gamma^ F^_Y^T w F^_X                                (eq. 28-29)
Without attention (sec. 3.1) read is [x, x^] and write is a linear map of h_dec to the whole image.

The recurrence (eq. 3-8), for t = 1..T:
    x^_t = x - sigmoid(c_{t-1});  r_t = read(x, x^_t, h^dec_{t-1})
    h^enc_t = LSTM_enc(h^enc_{t-1}, [r_t, h^dec_{t-1}]);  z_t ~ Q(Z_t | h^enc_t) = N(mu_t, sigma_t)
    h^dec_t = LSTM_dec(h^dec_{t-1}, z_t);  c_t = c_{t-1} + write(h^dec_t)
Images are (B, C, H, W) with A = W, B = H; attention reads and writes every channel with the same filters.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def filterbank(
    params: torch.Tensor, height: int, width: int, n: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Filterbanks F_Y (B, N, H), F_X (B, N, W) and gamma (B,) from the 5 attention numbers (B, 5)."""
    gx_, gy_, log_var, log_delta, log_gamma = params.unbind(-1)
    gx = (width + 1) / 2 * (gx_ + 1)  # eq. 22
    gy = (height + 1) / 2 * (gy_ + 1)  # eq. 23
    delta = (max(width, height) - 1) / max(n - 1, 1) * torch.exp(log_delta)  # eq. 24
    offsets = torch.arange(1, n + 1, device=params.device, dtype=params.dtype) - n / 2 - 0.5
    mu_x = gx[:, None] + offsets * delta[:, None]  # (B, N), eq. 19
    mu_y = gy[:, None] + offsets * delta[:, None]  # eq. 20
    var = torch.exp(log_var)[:, None, None]
    # pixel coordinates 1..A (the paper's a, b index pixels from 1, matching g's (A + 1)/2 centre)
    a = torch.arange(1, width + 1, device=params.device, dtype=params.dtype)
    b = torch.arange(1, height + 1, device=params.device, dtype=params.dtype)
    fx = torch.softmax(-((a - mu_x[..., None]) ** 2) / (2 * var), dim=-1)  # eq. 25: exp / Z_X
    fy = torch.softmax(-((b - mu_y[..., None]) ** 2) / (2 * var), dim=-1)  # eq. 26
    return fy, fx, torch.exp(log_gamma)


class AttentionRead(nn.Module):
    """(x, x^ (B, C, H, W), h_dec (B, Hd)) -> glimpses (B, 2 C N N), eq. 27."""

    def __init__(self, hidden: int, data_shape: tuple[int, int, int], n: int = 2) -> None:
        super().__init__()
        self.shape, self.n = data_shape, n
        self.out_dim = 2 * data_shape[0] * n * n
        self.params = nn.Linear(hidden, 5)

    def forward(self, x: torch.Tensor, x_hat: torch.Tensor, h_dec: torch.Tensor) -> torch.Tensor:
        fy, fx, gamma = filterbank(self.params(h_dec), self.shape[1], self.shape[2], self.n)
        glimpses = [torch.einsum("bnh,bchw,bmw->bcnm", fy, img, fx) for img in (x, x_hat)]  # F_Y img F_X^T
        return gamma[:, None] * torch.cat(glimpses, 1).flatten(1)


class AttentionWrite(nn.Module):
    """h_dec (B, Hd) -> canvas update (B, C, H, W) = 1/gamma F_Y^T w F_X, eq. 28-29."""

    def __init__(self, hidden: int, data_shape: tuple[int, int, int], n: int = 5) -> None:
        super().__init__()
        self.shape, self.n = data_shape, n
        self.params = nn.Linear(hidden, 5)
        self.patch = nn.Linear(hidden, data_shape[0] * n * n)

    def forward(self, h_dec: torch.Tensor) -> torch.Tensor:
        fy, fx, gamma = filterbank(self.params(h_dec), self.shape[1], self.shape[2], self.n)
        w = self.patch(h_dec).view(-1, self.shape[0], self.n, self.n)
        return torch.einsum("bnh,bcnm,bmw->bchw", fy, w, fx) / gamma[:, None, None, None]


class PlainRead(nn.Module):
    """No attention (sec. 3.1): the whole image and the error image, (B, 2 C H W)."""

    def __init__(self, hidden: int, data_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.out_dim = 2 * math.prod(data_shape)

    def forward(self, x: torch.Tensor, x_hat: torch.Tensor, h_dec: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.flatten(1), x_hat.flatten(1)], 1)


class PlainWrite(nn.Module):
    """No attention: a linear map of h_dec to the whole canvas (B, C, H, W)."""

    def __init__(self, hidden: int, data_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.shape = data_shape
        self.linear = nn.Linear(hidden, math.prod(data_shape))

    def forward(self, h_dec: torch.Tensor) -> torch.Tensor:
        return self.linear(h_dec).view(-1, *self.shape)


class DRAWNet(nn.Module):
    """The DRAW recurrence over T steps: inference (with x) and generation (without)."""

    def __init__(
        self,
        data_shape: tuple[int, int, int],
        steps: int = 64,
        enc_hidden: int = 256,
        dec_hidden: int = 256,
        latent_dim: int = 100,
        attention: bool = True,
        read_n: int = 2,
        write_n: int = 5,
    ) -> None:
        super().__init__()
        self.shape, self.steps, self.latent_dim = tuple(data_shape), steps, latent_dim
        if attention:
            self.read: nn.Module = AttentionRead(dec_hidden, self.shape, read_n)
            self.write: nn.Module = AttentionWrite(dec_hidden, self.shape, write_n)
        else:
            self.read, self.write = PlainRead(dec_hidden, self.shape), PlainWrite(dec_hidden, self.shape)
        self.encoder = nn.LSTMCell(self.read.out_dim + dec_hidden, enc_hidden)
        self.decoder = nn.LSTMCell(latent_dim, dec_hidden)
        self.q = nn.Linear(enc_hidden, 2 * latent_dim)  # mean and log variance of Q(Z_t | h^enc_t)

    def _zeros(self, n: int, size: int, ref: torch.Tensor) -> torch.Tensor:
        return torch.zeros(n, size, device=ref.device, dtype=ref.dtype)

    def infer(self, x: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Run eq. 3-8 on x (B, C, H, W). Returns the final canvas logits c_T (B, C, H, W), q's means
        and log variances (T, B, Z) and the drawn z (T, B, Z)."""
        n = x.shape[0]
        canvas = torch.zeros_like(x)
        h_enc, c_enc = self._zeros(n, self.encoder.hidden_size, x), self._zeros(n, self.encoder.hidden_size, x)
        h_dec, c_dec = self._zeros(n, self.decoder.hidden_size, x), self._zeros(n, self.decoder.hidden_size, x)
        means, log_vars, zs = [], [], []
        for _ in range(self.steps):
            x_hat = x - torch.sigmoid(canvas)  # eq. 3
            r = self.read(x, x_hat, h_dec)  # eq. 4
            h_enc, c_enc = self.encoder(torch.cat([r, h_dec], 1), (h_enc, c_enc))  # eq. 5
            mean, log_var = self.q(h_enc).chunk(2, dim=1)
            eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
            z = mean + torch.exp(0.5 * log_var) * eps  # eq. 6, reparameterized
            h_dec, c_dec = self.decoder(z, (h_dec, c_dec))  # eq. 7
            canvas = canvas + self.write(h_dec)  # eq. 8
            means.append(mean)
            log_vars.append(log_var)
            zs.append(z)
        return {"canvas": canvas, "mean": torch.stack(means), "log_var": torch.stack(log_vars), "z": torch.stack(zs)}

    def generate(
        self, n: int, generator: torch.Generator | None = None, ref: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Canvas logits after each step, (T, n, C, H, W), with z_t ~ N(0, I) (sec. 2.3)."""
        ref = ref if ref is not None else self.q.weight
        h_dec, c_dec = self._zeros(n, self.decoder.hidden_size, ref), self._zeros(n, self.decoder.hidden_size, ref)
        canvas = torch.zeros(n, *self.shape, device=ref.device, dtype=ref.dtype)
        out = []
        for _ in range(self.steps):
            z = torch.randn(n, self.latent_dim, generator=generator, device=ref.device, dtype=ref.dtype)
            h_dec, c_dec = self.decoder(z, (h_dec, c_dec))
            canvas = canvas + self.write(h_dec)
            out.append(canvas)
        return torch.stack(out)
