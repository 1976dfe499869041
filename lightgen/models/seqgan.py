"""SeqGAN: sequence generation as a policy trained by the discriminator's reward (Yu et al. 2017, AAAI).

Algorithm 1 of the paper, in the phases of the authors' code (LantaoYu/SeqGAN, sequence_gan.py):

1. **MLE pre-training** of G_theta (``pretrain_g_steps`` batches of teacher-forced NLL; the paper: 120
   epochs of 10,000 sequences at batch 64, i.e. 18,750 steps).
2. **D pre-training** (``pretrain_d_steps`` batches): cross-entropy of real against fresh samples of G
   (the code: 50 x 3 epochs over 10,000 + 10,000 sequences, ~23,500 of our steps of 64 + 64).
3. **Adversarial rounds**: ``g_steps`` policy-gradient updates of G (eq. 6) with rewards from
   ``num_rollouts`` Monte Carlo rollouts of the rollout policy G_beta (eq. 4), then ``d_steps`` D updates,
   each on the batch's real sequences and fresh negatives (the code: 1 G step, then 5 x 3 epochs of D,
   ~2,350 of our steps).

The rollout policy is a delayed copy of G: after each G update,
``beta <- r * beta + (1 - r) * theta`` with r = ``rollout_update_rate`` (0.8: rollout.py's
``update_rate * self.W + (1 - update_rate) * lstm.W``). r = 0 gives the paper's G_beta = G_theta. (As we read the
TensorFlow code, its rollout sampling graph is built once, in ``ROLLOUT.__init__``, from ``tf.identity`` reads
of G's live variables, and ``update_params()`` rebinds attributes that graph never uses: its rollouts in
effect use the current G. We implement the stated rule; ``rollout_update_rate: 0`` gives that behaviour.)

One training batch is one update, so ``trainer.global_step`` counts batches here. ``mle_only`` keeps
phase 1 for the whole run: the MLE baseline in the same loop, data order and initialisation.

This is a :class:`GenerativeModel`, not a :class:`~lightgen.models.gan.GAN` subclass: the GAN loop draws
continuous latents and feeds G's output to D with an objective's costs, whereas SeqGAN's G samples
discrete tokens, has no pathwise gradient through D, and learns from rollout rewards in phases.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lightgen.clock import crossed_interval, log_sparse, logging_step
from lightgen.errors import LightgenError
from lightgen.losses.gan import LossDict
from lightgen.losses.policy_gradient import monte_carlo_rewards, reinforce_loss
from lightgen.metrics.sequence_nll import sequence_nll
from lightgen.models.base import GenerativeModel
from lightgen.models.loop_state import LoopState
from lightgen.nets.sequence import PAPER_FILTER_SIZES, PAPER_NUM_FILTERS, LSTMGenerator, SequenceCNNDiscriminator

# keys of the random streams (with the batch count and the rank): distinct draws never share numbers
NEGATIVES_KEY, POLICY_KEY, ROLLOUT_KEY = 1, 2, 3


class SeqGAN(LoopState, GenerativeModel):
    """SeqGAN with an LSTM generator and a CNN discriminator over token sequences (Yu et al. 2017).

    Args:
        data_shape: (T,), the sequence length, linked from the datamodule.
        vocab_size: V; None: taken from the datamodule (``vocab_size``) when training starts.
        embed_dim / hidden_dim / start_token / g_init_std: the generator (32 / 32 / 0 / N(0, 0.1)).
        d_embed_dim / d_filter_sizes / d_num_filters / d_dropout: the discriminator (64, the paper's 12
            windows and filter counts, drop 0.25 = keep 0.75); windows must fit in T.
        d_l2: weight of the L2 penalty on D's output layer (0.2, as ``tf.nn.l2_loss``: half the square sum).
        pretrain_g_steps / pretrain_d_steps: batches of the two pre-training phases.
        g_steps / d_steps: updates of G and of D in each adversarial round.
        adversarial_rounds: stop after this many rounds (None: the trainer's limits decide).
        num_rollouts: N in eq. 4 (16).
        rollout_update_rate: r of the delayed rollout policy (0.8).
        mle_only: train by maximum likelihood throughout (the MLE baseline).
        g_lr / d_lr: Adam learning rates (0.01 for G, pre-training and adversarial alike; 1e-4 for D).
        grad_clip: G's gradients are clipped to this global norm (5.0).
        oracle_eval_samples: at each validation, NLL_oracle of this many samples when the datamodule has an
            ``oracle`` (0: off).
        vocabulary: the corpus's words by id, stored from the datamodule when training starts, so ``decode`` and
            ``lightgen sample`` write text from the checkpoint alone.
    """

    #: its phases leave G or D idle in a step: under `ddp` the CLI picks Lightning's find-unused-parameters DDP
    alternating_players = True

    def __init__(
        self,
        data_shape: tuple[int, ...],
        vocab_size: int | None = None,
        embed_dim: int = 32,
        hidden_dim: int = 32,
        start_token: int = 0,
        g_init_std: float = 0.1,
        d_embed_dim: int = 64,
        d_filter_sizes: tuple[int, ...] = PAPER_FILTER_SIZES,
        d_num_filters: tuple[int, ...] = PAPER_NUM_FILTERS,
        d_dropout: float = 0.25,
        d_l2: float = 0.2,
        pretrain_g_steps: int = 18_750,
        pretrain_d_steps: int = 23_500,
        g_steps: int = 1,
        d_steps: int = 2_350,
        adversarial_rounds: int | None = None,
        num_rollouts: int = 16,
        rollout_update_rate: float = 0.8,
        mle_only: bool = False,
        g_lr: float = 0.01,
        d_lr: float = 1e-4,
        grad_clip: float = 5.0,
        oracle_eval_samples: int = 1000,
        vocabulary: list[str] | None = None,
    ) -> None:
        super().__init__(data_shape)
        if len(self.data_shape) != 1:
            raise LightgenError(f"SeqGAN models token sequences: data_shape must be (length,); got {data_shape}")
        for name, value in (("pretrain_g_steps", pretrain_g_steps), ("pretrain_d_steps", pretrain_d_steps)):
            if value < 0:
                raise LightgenError(f"{name} must be >= 0; got {value}")
        for name, value in (("g_steps", g_steps), ("d_steps", d_steps), ("num_rollouts", num_rollouts)):
            if value < 1:
                raise LightgenError(f"{name} must be a positive integer; got {value}")
        if adversarial_rounds is not None and adversarial_rounds < 0:
            raise LightgenError(f"adversarial_rounds must be >= 0 or None; got {adversarial_rounds}")
        if not 0.0 <= rollout_update_rate < 1.0:
            raise LightgenError(f"rollout_update_rate must be in [0, 1); got {rollout_update_rate}")
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.max_length = self.data_shape[0]
        self.generator: LSTMGenerator | None = None
        self.rollout_policy: LSTMGenerator | None = None
        self.discriminator: SequenceCNNDiscriminator | None = None
        if vocab_size is not None:
            self.build(vocab_size)
        self.init_loop_state()  # counters and the lazy finite flag (lightgen.models.loop_state)
        self._logged_at: dict[str, int] = {}

    # ------------------------------------------------------------------ networks
    def build(self, vocab_size: int) -> None:
        """Build G, its rollout copy G_beta and D for ``vocab_size`` tokens (once)."""
        h = self.hparams
        if vocab_size < 2:
            raise LightgenError(f"vocab_size must be at least 2; got {vocab_size}")
        self.vocab_size = int(vocab_size)
        self.hparams["vocab_size"] = self.vocab_size
        self._hparams_initial = copy.deepcopy(self._hparams)
        self.value_range = (0.0, float(vocab_size - 1))
        self.generator = LSTMGenerator(
            vocab_size, self.max_length, h.embed_dim, h.hidden_dim, h.start_token, init_std=h.g_init_std
        )
        self.rollout_policy = copy.deepcopy(self.generator).requires_grad_(False)
        self.discriminator = SequenceCNNDiscriminator(
            vocab_size, self.max_length, h.d_embed_dim, h.d_filter_sizes, h.d_num_filters, h.d_dropout
        )

    def setup(self, stage: str) -> None:
        dm = self.trainer.datamodule if self._trainer is not None else None
        data_vocab = getattr(dm, "vocab_size", None)
        if self.generator is None:
            if data_vocab is None:
                raise LightgenError("SeqGAN needs vocab_size: set model.vocab_size or use a datamodule that has one")
            self.build(int(data_vocab))
        elif data_vocab is not None and int(data_vocab) != self.vocab_size:
            raise LightgenError(
                f"model.vocab_size is {self.vocab_size} but the datamodule's vocabulary has {data_vocab} tokens"
            )
        words = getattr(dm, "vocab", None)
        if self.hparams.get("vocabulary") is None and isinstance(words, list) and len(words) == self.vocab_size:
            self.hparams["vocabulary"] = list(words)  # a checkpoint alone then decodes its samples to text

    def decode(self, tokens: torch.Tensor) -> list[str]:
        """Sample rows (N, T) as text: the words of the stored vocabulary up to <eos> (a text corpus), else the
        token ids (the oracle's sequences have no words)."""
        words = self.hparams.get("vocabulary")
        if not words:
            return [" ".join(str(i) for i in row) for row in tokens.tolist()]
        out = []
        for row in tokens.tolist():
            kept = []
            for i in row:
                if words[i] == "<eos>":
                    break
                if words[i] != "<pad>":
                    kept.append(words[i])
            out.append(" ".join(kept))
        return out

    def _require_nets(self) -> None:
        if self.generator is None:
            raise LightgenError("SeqGAN has no networks yet: give vocab_size or fit it on a datamodule first")

    # ------------------------------------------------------------------ sampling and likelihood
    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """n token sequences (n, T), int64, from G (seeded when ``seed`` is given)."""
        self._require_nets()
        return self.generator.sample(n, self.make_generator(seed))

    @torch.no_grad()
    def nll(self, tokens: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """Average per-token NLL (nats) of sequences (N, T) under G: NLL_test on held-out data."""
        self._require_nets()
        return torch.tensor(sequence_nll(self.generator, tokens.to(self.device), batch_size))

    @torch.no_grad()
    def oracle_nll(
        self, samples: torch.Tensor, oracle: nn.Module | None = None, batch_size: int = 1000
    ) -> torch.Tensor:
        """NLL_oracle: the oracle's average per-token NLL of ``samples`` (N, T) (default the datamodule's)."""
        oracle = oracle if oracle is not None else self._data_oracle()
        if oracle is None:
            raise LightgenError(
                "oracle_nll needs an oracle: pass one or fit on lightgen.data.sequences.OracleSequences"
            )
        return torch.tensor(sequence_nll(oracle, samples, batch_size))

    def _data_oracle(self) -> nn.Module | None:
        return getattr(self.trainer.datamodule, "oracle", None) if self._trainer is not None else None

    # ------------------------------------------------------------------ rewards and the rollout policy
    @torch.no_grad()
    def rollout_rewards(self, tokens: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Q(Y_{1:t-1}, y_t) of eq. 4 for sequences (N, T): rollouts by G_beta, D in eval mode (no dropout,
        the code's keep probability 1.0 for rewards)."""
        self._require_nets()
        was_training = self.discriminator.training
        self.discriminator.eval()
        try:
            return monte_carlo_rewards(
                tokens,
                lambda prefix, gen: self.rollout_policy.sample(prefix.shape[0], gen, prefix),
                self.discriminator.prob_real,
                self.hparams.num_rollouts,
                generator,
            )
        finally:
            self.discriminator.train(was_training)

    @torch.no_grad()
    def update_rollout_policy(self, rate: float | None = None) -> None:
        """beta <- r * beta + (1 - r) * theta for every parameter (rollout.py's update_params)."""
        rate = self.hparams.rollout_update_rate if rate is None else rate
        for beta, theta in zip(self.rollout_policy.parameters(), self.generator.parameters()):
            beta.mul_(rate).add_(theta.detach(), alpha=1.0 - rate)

    # ------------------------------------------------------------------ the phases
    def phase(self, batch_index: int) -> str:
        """ "mle", "d_pretrain", "g" or "d" for training batch ``batch_index`` (0-based)."""
        h = self.hparams
        if h.mle_only or batch_index < h.pretrain_g_steps:
            return "mle"
        if batch_index < h.pretrain_g_steps + h.pretrain_d_steps:
            return "d_pretrain"
        within = (batch_index - h.pretrain_g_steps - h.pretrain_d_steps) % (h.g_steps + h.d_steps)
        return "g" if within < h.g_steps else "d"

    def rounds_done(self) -> int:
        """Adversarial rounds completed after ``batches_seen`` batches."""
        h = self.hparams
        adversarial = self.batches_seen - h.pretrain_g_steps - h.pretrain_d_steps
        return 0 if h.mle_only or adversarial <= 0 else adversarial // (h.g_steps + h.d_steps)

    def _stream(self, key: int) -> torch.Generator:
        rank = self.trainer.global_rank if self._trainer is not None else 0
        return self.random_stream(self.batches_seen, key, rank)

    def mle_loss(self, real: torch.Tensor) -> LossDict:
        """Teacher-forced NLL per token (the code's pretrain_loss)."""
        nll = -self.generator.log_prob(real).mean()
        return {"loss": nll, "nll": nll.detach()}

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> LossDict:
        """Cross-entropy of D on real (class 1) and generated (class 0) sequences, plus d_l2 * l2_loss of
        the output layer (discriminator.py)."""
        tokens = torch.cat([real, fake])
        labels = torch.cat([torch.ones_like(real[:, 0]), torch.zeros_like(fake[:, 0])])
        logits = self.discriminator(tokens).float()
        ce = F.cross_entropy(logits, labels)
        out = self.discriminator.output
        l2 = 0.5 * (out.weight.pow(2).sum() + out.bias.pow(2).sum())
        accuracy = (logits.argmax(1) == labels).float().mean()
        return {"loss": ce + self.hparams.d_l2 * l2, "cross_entropy": ce.detach(), "accuracy": accuracy}

    def pg_loss(self, n: int) -> LossDict:
        """Eq. 6 on n fresh samples of G with rollout rewards."""
        tokens = self.generator.sample(n, self._stream(POLICY_KEY))
        rewards = self.rollout_rewards(tokens, self._stream(ROLLOUT_KEY))
        return reinforce_loss(self.generator.log_prob(tokens), rewards)

    # ------------------------------------------------------------------ the loop
    def training_step(self, batch: Any, batch_idx: int) -> None:
        real = batch[0] if isinstance(batch, (tuple, list)) else batch
        real = real.long()
        g_mle_opt, g_pg_opt, d_opt = self.optimizers()
        phase = self.phase(self.batches_seen)
        h = self.hparams
        if phase == "g" and self.batches_seen == h.pretrain_g_steps + h.pretrain_d_steps:
            self.update_rollout_policy(rate=0.0)  # the rollout policy starts as the pre-trained G
        if phase in ("mle", "g"):
            opt, prefix = (g_mle_opt, "g_mle") if phase == "mle" else (g_pg_opt, "g_pg")
            with self.toggled_optimizer(opt):
                terms = self.mle_loss(real) if phase == "mle" else self.pg_loss(real.shape[0])
                opt.zero_grad(set_to_none=True)
                self.manual_backward(terms["loss"])
                self.clip_gradients(opt, gradient_clip_val=h.grad_clip, gradient_clip_algorithm="norm")
                opt.step()
            self.generator_steps += 1
            if phase == "g":
                self.update_rollout_policy()
        else:
            prefix = "d"
            fake = self.generator.sample(real.shape[0], self._stream(NEGATIVES_KEY))
            with self.toggled_optimizer(d_opt):
                terms = self.d_loss(real, fake)
                d_opt.zero_grad(set_to_none=True)
                self.manual_backward(terms["loss"])
                d_opt.step()
            self.discriminator_steps += 1
        self._track_finite(terms["loss"])
        self.batches_seen += 1
        self._log_terms(prefix, terms)
        self.log("generator_steps", float(self.generator_steps), on_step=True, prog_bar=True)
        if self.finished():
            self.trainer.should_stop = True

    def finished(self) -> bool:
        """Whether ``adversarial_rounds`` rounds are done (never for the MLE baseline or without a limit)."""
        h = self.hparams
        if h.adversarial_rounds is None or h.mle_only:
            return False
        pretrained = self.batches_seen >= h.pretrain_g_steps + h.pretrain_d_steps
        return pretrained and self.rounds_done() >= h.adversarial_rounds

    def _log_terms(self, prefix: str, terms: LossDict) -> None:
        """Each phase's terms exist only at its batches: logged sparsely (:func:`lightgen.clock.log_sparse`),
        at its first batch after each ``log_every_n_steps`` boundary."""
        named = {f"{prefix}_loss" if k == "loss" else f"{prefix}/{k}": v.detach() for k, v in terms.items()}
        done = logging_step(self.trainer) + 1
        last = self._logged_at.get(prefix, -1)
        if last < 0 or crossed_interval(last, done, self.trainer.log_every_n_steps):
            self._logged_at[prefix] = done
            log_sparse(self, named)
        else:
            self.log_dict(named, on_step=True, prog_bar=False, logger=False)

    def nonfinite_message(self, last_finite_step: int) -> str:
        return (
            f"a SeqGAN loss became NaN or infinite before batch {self.batches_seen}; training stopped "
            "(lower the learning rates)"
        )

    # ------------------------------------------------------------------ validate / test
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._held_out_nll(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._held_out_nll(batch, "test")

    @torch.no_grad()
    def _held_out_nll(self, batch: Any, stage: str) -> None:
        real = (batch[0] if isinstance(batch, (tuple, list)) else batch).long()
        nll = -self.generator.log_prob(real).mean()
        self.log(f"{stage}/nll", nll, sync_dist=True, batch_size=real.shape[0])

    def on_validation_epoch_end(self) -> None:
        oracle, n = self._data_oracle(), self.hparams.oracle_eval_samples
        if oracle is None or n <= 0 or self.trainer.sanity_checking:
            return
        samples = self.generator.sample(n, self.make_generator(0))
        self.log("val/nll_oracle", self.oracle_nll(samples, oracle.to(self.device)), sync_dist=True)

    # ------------------------------------------------------------------ optimizers and checkpoints
    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """Adam for G's MLE phase, Adam for G's adversarial phase (two optimizers, as in generator.py) and
        Adam for D."""
        self._require_nets()
        h = self.hparams
        params = list(self.generator.parameters())
        return [
            torch.optim.Adam(params, lr=h.g_lr),
            torch.optim.Adam(params, lr=h.g_lr),
            torch.optim.Adam(self.discriminator.parameters(), lr=h.d_lr),
        ]

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)  # the loop counters (LoopState)
        if self.generator is None and checkpoint.get("hyper_parameters", {}).get("vocab_size"):
            self.build(int(checkpoint["hyper_parameters"]["vocab_size"]))
