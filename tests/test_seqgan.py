"""SeqGAN (Yu et al. 2017): REINFORCE, Monte Carlo rollout rewards, the oracle, the phases, the configs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import lightning as L
import pytest
import torch
from conftest import CONFIGS, quiet_trainer

from lightgen.callbacks import RunCheckpoint
from lightgen.checkpoint import AtomicCheckpointIO, load_model
from lightgen.cli import main
from lightgen.data.sequences import OracleSequences, TextSequences
from lightgen.errors import LightgenError
from lightgen.evaluate import build_datamodule
from lightgen.losses.policy_gradient import assemble_rollout_rewards, monte_carlo_rewards, reinforce_loss
from lightgen.metrics.sequence_nll import nll_oracle, uniform_nll_oracle
from lightgen.models.seqgan import SeqGAN
from lightgen.nets.sequence import LSTMGenerator, SequenceCNNDiscriminator, oracle_lstm

TINY_D = {"d_filter_sizes": (1, 2, 3), "d_num_filters": (8, 8, 8), "d_embed_dim": 8}


def tiny_model(**kwargs) -> SeqGAN:  # noqa: ANN003
    args = dict(data_shape=(6,), vocab_size=20, num_rollouts=4, oracle_eval_samples=64, **TINY_D)
    args.update(kwargs)
    return SeqGAN(**args)


def tiny_oracle_data(root: Path, **kwargs) -> OracleSequences:  # noqa: ANN003
    args = dict(vocab_size=20, max_length=6, num_train=256, num_test=128, root=str(root), batch_size=32)
    args.update(kwargs)
    return OracleSequences(**args)


# ---------------------------------------------------------------- REINFORCE
def test_reinforce_on_a_bandit_matches_the_analytic_gradient_in_expectation() -> None:
    """Softmax policy over 3 arms with fixed rewards: E[r(a) grad log pi(a)] = grad E[r] = p * (r - E_p r)."""
    theta = torch.tensor([0.3, -0.2, 0.5], requires_grad=True)
    reward = torch.tensor([1.0, 2.0, 5.0])
    m = 20_000
    actions = torch.multinomial(torch.softmax(theta.detach(), 0), m, replacement=True, generator=torch.manual_seed(0))
    log_probs = torch.log_softmax(theta, 0)[actions][:, None]  # (M, 1): M one-step "sequences"
    loss = reinforce_loss(log_probs, reward[actions][:, None])["loss"]
    (grad,) = torch.autograd.grad(loss, theta)
    estimate = -grad  # the loss is minus the objective
    p = torch.softmax(theta.detach(), 0)
    analytic = p * (reward - (p * reward).sum())
    # per-draw estimates r(a) (onehot(a) - p), for the standard error of their mean
    per_draw = reward[actions][:, None] * (torch.nn.functional.one_hot(actions, 3).float() - p)
    torch.testing.assert_close(per_draw.mean(0), estimate, rtol=1e-4, atol=1e-5)
    se = per_draw.std(0) / math.sqrt(m)
    assert ((estimate - analytic).abs() < 4 * se).all(), (estimate, analytic, se)


def test_reinforce_loss_rewards_are_constants_and_shapes_are_checked() -> None:
    log_probs = torch.randn(4, 3, requires_grad=True)
    rewards = torch.rand(4, 3, requires_grad=True)
    terms = reinforce_loss(log_probs, rewards)
    terms["loss"].backward()
    assert rewards.grad is None
    torch.testing.assert_close(log_probs.grad, -rewards.detach() / 4)
    with pytest.raises(LightgenError, match="must both be"):
        reinforce_loss(log_probs, rewards[:, :2])


# ---------------------------------------------------------------- rollouts
def test_rollouts_keep_the_prefix_and_the_last_reward_is_d_of_the_sequence() -> None:
    torch.manual_seed(0)
    model = tiny_model().eval()
    tokens = model.sample(5, seed=1)
    completions = []

    def score(x: torch.Tensor) -> torch.Tensor:
        completions.append(x)
        return model.discriminator.prob_real(x)

    def complete(prefix: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
        return model.rollout_policy.sample(prefix.shape[0], gen, prefix)

    rewards = monte_carlo_rewards(tokens, complete, score, num_rollouts=3, generator=torch.Generator().manual_seed(0))
    assert rewards.shape == (5, 6)
    for t, done in enumerate(completions[:-1], start=1):  # rollouts from the prefix of length t
        assert done.shape == (15, 6)
        assert torch.equal(done[:, :t], tokens[:, :t].repeat(3, 1))
    assert torch.equal(completions[-1], tokens)
    torch.testing.assert_close(rewards[:, -1], model.discriminator.prob_real(tokens))
    # the model's own rollout rewards: the complete sequence's reward is D's probability of "real", D in eval
    model.train()
    own = model.rollout_rewards(tokens, torch.Generator().manual_seed(0))
    assert model.discriminator.training  # restored
    model.discriminator.eval()
    torch.testing.assert_close(own[:, -1], model.discriminator.prob_real(tokens))
    assert ((own >= 0) & (own <= 1)).all()


def test_assemble_rollout_rewards_averages_each_prefix() -> None:
    scores = torch.arange(2 * 3 * 4, dtype=torch.float).reshape(2, 3, 4)  # (T-1=2, R=3, N=4)
    final = torch.tensor([0.1, 0.2, 0.3, 0.4])
    rewards = assemble_rollout_rewards(scores, final)
    assert rewards.shape == (4, 3)
    torch.testing.assert_close(rewards[:, 0], scores[0].mean(0))
    torch.testing.assert_close(rewards[:, 2], final)


def test_rollout_policy_follows_its_update_rate() -> None:
    torch.manual_seed(0)
    model = tiny_model(rollout_update_rate=0.8)
    before = [p.clone() for p in model.rollout_policy.parameters()]
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(1.0)
    model.update_rollout_policy()
    for old, new, theta in zip(before, model.rollout_policy.parameters(), model.generator.parameters()):
        torch.testing.assert_close(new, 0.8 * old + 0.2 * theta)  # beta <- 0.8 beta + 0.2 theta
    assert not any(p.requires_grad for p in model.rollout_policy.parameters())


def test_generator_log_prob_matches_a_step_by_step_computation() -> None:
    torch.manual_seed(0)
    g = LSTMGenerator(vocab_size=7, max_length=4, embed_dim=3, hidden_dim=5, init_std=0.5)
    tokens = g.sample(3, torch.Generator().manual_seed(0))
    state, token, by_hand = None, torch.zeros(3, dtype=torch.long), []
    for t in range(4):
        logits, state = g.step(token, state)
        by_hand.append(torch.log_softmax(logits, -1).gather(1, tokens[:, t : t + 1])[:, 0])
        token = tokens[:, t]
    torch.testing.assert_close(g.log_prob(tokens), torch.stack(by_hand, 1))


def test_discriminator_refuses_windows_longer_than_the_sequence() -> None:
    with pytest.raises(LightgenError, match=r"filter sizes \[15, 20\] do not fit sequences of length 10"):
        SequenceCNNDiscriminator(vocab_size=50, max_length=10)
    d = SequenceCNNDiscriminator(vocab_size=50, max_length=20)  # the paper's network
    assert d(torch.randint(0, 50, (2, 20))).shape == (2, 2)
    assert d.features(torch.randint(0, 50, (2, 20))).shape == (2, 1720)


# ---------------------------------------------------------------- the oracle
def test_oracle_prefers_its_own_samples_to_uniform_random_sequences() -> None:
    vocab, length = 5000, 20
    oracle = oracle_lstm(vocab, length, seed=0)
    own = nll_oracle(oracle, oracle, num_samples=500, seed=0)
    uniform = uniform_nll_oracle(oracle, vocab, length, num_samples=500)
    # E_U[-log p] = log V + KL(U || p) >= log V; the oracle's entropy rate is far below log V
    assert own < math.log(vocab) < uniform
    assert own < uniform - 2.0
    # the paper's "random 10.310" is NLL_oracle of an untrained generator's (nearly uniform) samples
    untrained = LSTMGenerator(vocab, length, init_std=0.1)
    assert nll_oracle(oracle, untrained, num_samples=500) == pytest.approx(uniform, abs=0.3)


def test_oracle_is_reproducible_and_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(3)
    state = torch.get_rng_state()
    a, b = oracle_lstm(30, 5, 4, 4, seed=7), oracle_lstm(30, 5, 4, 4, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert a.lstm.weight_hh_l0.std() == pytest.approx(1.0, abs=0.3)  # N(0, 1) as the repository's oracle


def test_oracle_sequences_are_cached_under_the_root(tmp_path: Path) -> None:
    dm = tiny_oracle_data(tmp_path)
    dm.setup()
    path = dm.cache_path()
    assert path.is_file() and path.parent == tmp_path / "oracle_sequences"
    again = tiny_oracle_data(tmp_path)
    again.setup()
    assert torch.equal(dm.train_set.tokens, again.train_set.tokens)
    assert dm.train_set.tokens.shape == (256, 6) and dm.train_set.tokens.dtype == torch.int64
    assert tiny_oracle_data(tmp_path, oracle_seed=1).cache_path() != path


# ---------------------------------------------------------------- training
def test_mle_pretraining_lowers_the_nll_on_a_tiny_oracle(tmp_path: Path) -> None:
    L.seed_everything(0)
    dm = tiny_oracle_data(tmp_path)
    dm.setup()
    model = tiny_model(mle_only=True)
    held_out = dm.test_set.tokens
    before = float(model.nll(held_out))
    quiet_trainer(max_steps=40).fit(model, dm)
    after = float(model.nll(held_out))
    assert after < before - 0.3, (before, after)
    assert model.generator_steps == 40 and model.discriminator_steps == 0


def test_phases_count_as_configured(tmp_path: Path) -> None:
    L.seed_everything(0)
    model = tiny_model(pretrain_g_steps=3, pretrain_d_steps=2, g_steps=1, d_steps=2, adversarial_rounds=2)
    assert [model.phase(b) for b in range(11)] == ["mle"] * 3 + ["d_pretrain"] * 2 + ["g", "d", "d"] * 2
    quiet_trainer(max_steps=100).fit(model, tiny_oracle_data(tmp_path))
    assert (model.batches_seen, model.generator_steps, model.discriminator_steps) == (11, 5, 6)


def run_adversarial(root: Path, ckpt_dir: Path, max_steps: int, ckpt_path: str | None = None) -> SeqGAN:
    L.seed_everything(0)
    model = tiny_model(pretrain_g_steps=2, pretrain_d_steps=1, d_steps=1, d_dropout=0.3)
    trainer = quiet_trainer(
        max_steps=max_steps,
        enable_checkpointing=True,
        callbacks=[RunCheckpoint(dirpath=ckpt_dir, every_n_train_steps=1000, save_top_k=0)],
        plugins=[AtomicCheckpointIO()],
    )
    trainer.fit(model, tiny_oracle_data(root), ckpt_path=ckpt_path)
    return model


def test_resumed_adversarial_run_equals_the_uninterrupted_one(tmp_path: Path) -> None:
    straight = run_adversarial(tmp_path / "data", tmp_path / "a", max_steps=9)
    run_adversarial(tmp_path / "data", tmp_path / "b", max_steps=5)  # stops inside the adversarial rounds
    resumed = run_adversarial(tmp_path / "data", tmp_path / "b", 9, ckpt_path=str(tmp_path / "b" / "last.ckpt"))
    assert (resumed.batches_seen, resumed.generator_steps) == (straight.batches_seen, straight.generator_steps)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=f"{name} differs after resume")
    assert "rollout_policy.output.weight" in straight.state_dict()


# ---------------------------------------------------------------- text data
def write_corpus(path: Path, lines: int = 40) -> Path:
    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far", "away"]
    text = "\n".join(" ".join(words[(i + k) % 10] for k in range(3 + i % 5)) for i in range(lines))
    path.write_text(text + "\n\n", encoding="utf-8")
    return path


def test_text_sequences_build_and_save_a_vocabulary(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus.txt")
    dm = TextSequences(path=str(corpus), max_length=5, batch_size=4)
    dm.setup()
    assert dm.vocab[:3] == ["<pad>", "<eos>", "<unk>"] and dm.vocab_size == len(dm.vocab)
    assert (tmp_path / "corpus.txt.vocab.json").is_file()
    rows = dm.train_set.tokens
    assert rows.shape[1] == 5 and rows.dtype == torch.int64
    assert len(dm.train_set) + len(dm.val_set) + len(dm.test_set) == 40
    assert all(s and len(s.split()) <= 4 for s in dm.decode(rows[:5]))


def test_text_sequences_give_one_line_errors_for_missing_or_empty_corpora(tmp_path: Path) -> None:
    with pytest.raises(LightgenError, match="not found"):
        TextSequences(path=str(tmp_path / "nope.txt")).setup()
    (tmp_path / "empty.txt").write_text("\n  \n")
    with pytest.raises(LightgenError, match="holds no sentences"):
        TextSequences(path=str(tmp_path / "empty.txt")).setup()


# ---------------------------------------------------------------- configs through `lightgen fit`
COMMON = [
    "--model.d_filter_sizes", "[1,2,3]", "--model.d_num_filters", "[4,4,4]", "--model.d_embed_dim", "8",
    "--model.pretrain_g_steps", "1", "--model.pretrain_d_steps", "1", "--model.d_steps", "1",
    "--model.num_rollouts", "2", "--trainer.max_steps", "4", "--trainer.logger", "false",
    "--trainer.enable_progress_bar", "false", "--data.batch_size", "4", "--data.max_length", "6",
]  # fmt: skip


@pytest.mark.parametrize("name", ["seqgan_oracle", "seqgan_text"])
def test_config_trains_a_few_steps_through_lightgen_fit(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if name == "seqgan_oracle":
        data = ["--data.vocab_size", "20", "--data.num_train", "32", "--data.num_test", "8", "--data.root"]
        data += [str(tmp_path / "data"), "--model.oracle_eval_samples", "8"]
    else:
        data = ["--data.path", str(write_corpus(tmp_path / "corpus.txt"))]
    main(["fit", "--config", str(CONFIGS / f"{name}.yaml"), *COMMON, *data, "--run_root", str(tmp_path / "runs")])
    model = load_model(tmp_path / "runs" / name / "version_0" / "checkpoints" / "last.ckpt")
    assert model.batches_seen == 4 and model.generator_steps == 2  # 1 MLE, 1 D, then a G step and a D step
    samples = model.sample(3, seed=0)
    assert samples.shape == (3, 6) and samples.dtype == torch.int64
    assert int(samples.max()) < model.vocab_size
    # `lightgen sample --out X.txt`: one sequence a line, words from the stored vocabulary for a corpus
    out = tmp_path / "samples.txt"
    ckpt = str(tmp_path / "runs" / name / "version_0" / "checkpoints" / "last.ckpt")
    main(["sample", "--ckpt", ckpt, "--num", "3", "--seed", "0", "--out", str(out)])
    lines = out.read_text().splitlines()
    assert lines == model.decode(samples) and len(lines) == 3
    if name == "seqgan_text":
        vocab = model.hparams.vocabulary
        assert vocab and all(w in vocab and w not in ("<pad>", "<eos>") for line in lines for w in line.split())
    else:  # the oracle's tokens have no words: ids
        assert [[int(t) for t in line.split()] for line in lines] == samples.tolist()
    # `lightgen evaluate`: NLL_test by hand (every sequence has T tokens: the per-token mean), NLL_oracle of the
    # oracle's datamodule only
    report_path = tmp_path / "report.json"
    metrics = "nll_oracle,nll_test" if name == "seqgan_oracle" else "nll_test"
    data_root = ["--data-root", str(tmp_path / "data")] if name == "seqgan_oracle" else []
    main(["evaluate", "--ckpt", ckpt, "--metrics", metrics, "--num-samples", "8", "--batch-size", "4",
          "--out", str(report_path), *data_root])  # fmt: skip
    entries = {e["metric"]: e for e in json.loads(report_path.read_text())["metrics"]}
    dm = build_datamodule(torch.load(ckpt, weights_only=False), str(tmp_path / "data") if data_root else None)
    dm.setup("fit")
    held_out = torch.stack([dm.test_set[i] for i in range(len(dm.test_set))])
    assert entries["nll_test"]["values"]["nll_test"] == pytest.approx(float(model.nll(held_out)), rel=1e-5)
    if name == "seqgan_oracle":
        value = entries["nll_oracle"]["values"]["nll_oracle"]
        assert 0 < value < 2 * math.log(20) and entries["nll_oracle"]["values"]["nll_oracle_se"] > 0
    else:
        with pytest.raises(SystemExit):
            main(["evaluate", "--ckpt", ckpt, "--metrics", "nll_oracle", "--out", str(report_path)])
        assert (
            "nll_oracle needs the synthetic oracle's datamodule; TextSequences has no oracle" in capsys.readouterr().err
        )
