"""InfoGAN (Chen et al. 2016): the mutual-information bound in closed form, the codes' path through G and Q,
both players' costs, the matched clustering accuracy, and the code pictures."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import quiet_trainer
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

from lightgen.callbacks.infogan_pictures import InfoGANPictures, code_pictures
from lightgen.errors import LightgenError
from lightgen.losses.infogan import gaussian_log_likelihood, mutual_information_terms
from lightgen.losses.objectives import NonSaturating
from lightgen.metrics.code_accuracy import _assignment_by_subsets, best_matching, matched_accuracy
from lightgen.models import GAN, InfoGAN
from lightgen.models.latent import Latent

SHAPE = (1, 28, 28)


def small_infogan(**kwargs) -> InfoGAN:  # noqa: ANN003
    torch.manual_seed(0)
    return InfoGAN(SHAPE, latent_dim=6, q_hidden=16, **kwargs)


def one_hot(cats: list[int], k: int = 10) -> torch.Tensor:
    return F.one_hot(torch.tensor(cats), k).float()


# ---------------------------------------------------------------------- the bound L_I (eq. 5)
def test_the_categorical_bound_is_h_c_when_q_recovers_c_and_zero_for_a_uniform_q() -> None:
    cats = one_hot([0, 3, 7, 9, 3])
    no_cont = torch.zeros(5, 0)
    exact = mutual_information_terms(200.0 * cats, cats, no_cont, no_cont, no_cont)
    assert exact["mi_categorical"].item() == pytest.approx(math.log(10), abs=1e-6)  # H(c) = log 10
    assert exact["mi_lower_bound"].item() == pytest.approx(math.log(10), abs=1e-6)
    assert exact["q_categorical_nll"].item() == pytest.approx(0.0, abs=1e-6)
    assert exact["q_categorical_accuracy"].item() == 1.0
    uniform = mutual_information_terms(torch.zeros(5, 10), cats, no_cont, no_cont, no_cont)
    assert abs(uniform["mi_categorical"].item()) < 1e-6  # Q uninformative: the bound is exactly 0
    wrong = mutual_information_terms(5.0 * one_hot([1, 4, 8, 0, 2]), cats, no_cont, no_cont, no_cont)
    assert wrong["mi_categorical"].item() < 0 < math.log(10) - 1e-3  # a confidently wrong Q: below 0
    assert exact["loss"].item() == pytest.approx(-math.log(10), abs=1e-6)  # the cost is -lambda L_I


def test_the_gaussian_log_likelihood_against_a_hand_computation() -> None:
    code = torch.tensor([[0.5, -1.0]])
    mean = torch.tensor([[0.0, -0.5]])
    log_std = torch.tensor([[0.0, math.log(2.0)]])
    # log N(0.5; 0, 1) = -0.125 - 0.9189385; log N(-1; -0.5, 4): z = -0.25 -> -0.03125 - log 2 - 0.9189385
    hand = (-0.125 - 0.9189385332) + (-0.03125 - math.log(2.0) - 0.9189385332)
    assert gaussian_log_likelihood(mean, log_std, code).item() == pytest.approx(hand, abs=1e-6)
    cats = one_hot([2], 3)
    terms = mutual_information_terms(torch.zeros(1, 3), cats, mean, log_std, code, 1.0, 0.1)
    assert terms["q_continuous_nll"].item() == pytest.approx(-hand, abs=1e-6)
    mi_cont = 2 * math.log(2.0) + hand  # H(c) of two U(-1, 1) codes is 2 log 2
    assert terms["mi_continuous"].item() == pytest.approx(mi_cont, abs=1e-6)
    assert terms["loss"].item() == pytest.approx(-(0.0 + 0.1 * mi_cont), abs=1e-6)  # lambda_cont = 0.1


def test_q_splits_its_outputs_into_logits_means_and_fixed_or_learned_log_stds() -> None:
    q_out = torch.arange(14.0).view(1, 14)
    fixed = small_infogan()
    logits, mean, log_std = fixed.q_distribution(q_out[:, :12])
    assert torch.equal(logits, q_out[:, :10]) and torch.equal(mean, q_out[:, 10:12])
    assert torch.equal(log_std, torch.zeros(1, 2))  # sigma = 1
    learned = small_infogan(learn_std=True)
    assert learned.discriminator.q[-1].out_features == 14
    _, _, log_std = learned.q_distribution(q_out)
    assert torch.equal(log_std, q_out[:, 12:14])


# ---------------------------------------------------------------------- latents and codes
def test_the_prior_draws_one_hot_categories_and_uniform_codes_in_the_latent() -> None:
    model = small_infogan()
    latent = model.latent_prior(500, torch.Generator().manual_seed(0))
    cat, cont = model.split_codes(latent.codes)
    assert latent.z.shape == (500, 6) and latent.codes.shape == (500, 12)
    assert torch.equal(cat.sum(1), torch.ones(500)) and set(cat.argmax(1).tolist()) == set(range(10))
    assert cont.min() >= -1 and cont.max() < 1 and cont.std() > 0.5  # U(-1, 1) has std 0.577
    assert model.generator.fc[0].in_features == 6 + 10 + 2  # G takes concat[z, c]


def test_changing_a_code_changes_gs_output_for_fixed_noise() -> None:
    model = small_infogan().eval()
    a = model.sample(4, seed=0, categories=0)
    assert torch.equal(a, model.sample(4, seed=0, categories=0))
    assert not torch.allclose(a, model.sample(4, seed=0, categories=5))  # c1 reaches G
    assert not torch.allclose(a, model.sample(4, seed=0, categories=0, continuous=torch.tensor([1.0, 0.0])))
    fixed = model.draw_latent(4, seed=0, categories=torch.tensor([1, 2, 3, 4]), continuous=0.25)
    assert torch.equal(fixed.z, model.draw_latent(4, seed=0).z)  # same noise, codes replaced
    assert fixed.codes[:, :10].argmax(1).tolist() == [1, 2, 3, 4] and torch.all(fixed.codes[:, 10:] == 0.25)


def test_bad_codes_are_refused_in_one_line() -> None:
    model = small_infogan()
    z = torch.zeros(3, 6)
    with pytest.raises(LightgenError, match=r"categories must be in \[0, 9\]; got \[10\]"):
        model.latent_with_codes(z, 10)
    with pytest.raises(LightgenError, match=r"categories must be one class or 3 of them; got shape \(2,\)"):
        model.latent_with_codes(z, torch.tensor([1, 2]))
    with pytest.raises(LightgenError, match=r"continuous codes must broadcast to \(3, 2\); got shape \(3,\)"):
        model.latent_with_codes(z, 0, torch.zeros(3))
    with pytest.raises(LightgenError, match="needs codes"):
        model.generate(Latent(z))
    with pytest.raises(LightgenError, match="num_categories must be at least 2; got 1"):
        InfoGAN(SHAPE, num_categories=1)


# ---------------------------------------------------------------------- the two players' costs
def test_q_sees_the_fake_batch_in_the_same_pass_as_d() -> None:
    model = small_infogan()
    latent = model.latent_prior(6, torch.Generator().manual_seed(1))
    fake, real = model.generate(latent).detach(), torch.randn(6, *SHAPE)
    passes = []
    model.discriminator.body.register_forward_hook(lambda *_: passes.append(1))
    terms = model.d_loss(real, fake, latent)
    assert len(passes) == 2  # real and fake: Q took D's pass on the fakes, no third one
    _, q_fake = model.discriminator(fake, with_q=True)
    expected = F.cross_entropy(q_fake[:, :10], latent.codes[:, :10].argmax(1))
    assert terms["q_categorical_nll"].item() == pytest.approx(expected.item(), rel=1e-5)
    _, q_real = model.discriminator(real, with_q=True)
    assert F.cross_entropy(q_real[:, :10], latent.codes[:, :10].argmax(1)).item() != pytest.approx(expected.item())
    info = -(terms["mi_categorical"] + terms["mi_continuous"])
    assert terms["loss"].item() == pytest.approx((terms["adversarial_loss"] + info).item(), rel=1e-5)
    terms["loss"].backward()
    assert model.discriminator.q[0].weight.grad.abs().sum() > 0  # Q is trained in D's step


def test_q_is_trained_by_ds_optimizer_not_gs() -> None:
    model = small_infogan()
    q_ids = {id(p) for p in model.discriminator.q.parameters()}
    assert q_ids <= {id(p) for p in model.discriminator_parameters()}
    assert not q_ids & {id(p) for p in model.generator_parameters()}


class NoAdversary(NonSaturating):
    """J(G) zeroed, keeping D's output in the graph: what reaches G then comes from -lambda L_I alone."""

    def g_cost(self, fake_out: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": 0.0 * fake_out.sum()}


@pytest.mark.parametrize("weight", [1.0, 0.0])
def test_gs_cost_holds_minus_lambda_l_i_and_its_gradient_reaches_g(weight: float) -> None:
    model = small_infogan(
        objective=NoAdversary(), info_weight_categorical=weight, info_weight_continuous=weight, d_norm="none"
    )
    latent = model.latent_prior(5, torch.Generator().manual_seed(2))
    terms = model.g_loss(model.generate(latent), latent)
    expected = -weight * (terms["mi_categorical"] + terms["mi_continuous"])
    assert terms["loss"].item() == pytest.approx(expected.item(), abs=1e-6)
    terms["loss"].backward()
    grad = sum(p.grad.abs().sum() for p in model.generator.parameters() if p.grad is not None)
    assert (grad > 0) == (weight > 0)  # the MI term alone moves G; without it nothing does


def test_ds_steps_teach_q_to_read_the_category_of_the_fakes() -> None:
    model = small_infogan(d_norm="none")
    latent = model.latent_with_codes(torch.zeros(10, 6), torch.arange(10), 0.0)
    fake = -torch.ones(10, *SHAPE)
    for k in range(10):  # fake k: a bar at a k-dependent height, so its category can be read off
        fake[k, 0, 2 + 2 * k : 4 + 2 * k, 4:24] = 1.0
    opt = torch.optim.Adam(model.discriminator.parameters(), lr=5e-3)
    history = []
    for _ in range(10):
        terms = model.d_loss(-torch.ones(10, *SHAPE), fake, latent)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        history.append(terms["mi_categorical"].item())
    assert abs(history[0]) < 0.01  # a fresh Q is nearly uniform: L_I ~ 0
    assert history[-1] > 0.1  # D's steps raise the bound: Q learns to recover c from the fakes


# ---------------------------------------------------------------------- matched accuracy
def test_a_permuted_perfect_clustering_scores_one_with_the_inverse_permutation() -> None:
    labels = torch.arange(10).repeat(7)
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    result = matched_accuracy(perm[labels], labels)
    assert result.accuracy == 1.0 and result.error == 0.0
    assert result.mapping == {int(perm[c]): c for c in range(10)}


def test_matched_accuracy_on_a_hand_computed_case_where_greedy_matching_is_wrong() -> None:
    # cluster 0 holds 3 of class 0 and 2 of class 1, cluster 1 holds 3 of class 0: greedy takes (0 -> 0)
    # and scores 3/8; the best one-to-one matching is 0 -> 1, 1 -> 0: (2 + 3) / 8
    clusters = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1])
    labels = torch.tensor([0, 0, 0, 1, 1, 0, 0, 0])
    result = matched_accuracy(clusters, labels)
    assert result.accuracy == pytest.approx(5 / 8)
    assert result.mapping == {0: 1, 1: 0}
    assert result.counts.tolist() == [[3, 2], [3, 0]]
    with pytest.raises(LightgenError, match="equally long and non-empty; got 8 and 7"):
        matched_accuracy(clusters, labels[:7])


def test_the_subset_programme_finds_scipys_optimum_without_scipy() -> None:
    gen = torch.Generator().manual_seed(0)
    for shape in [(10, 10), (6, 4), (4, 7)]:
        counts = torch.randint(0, 50, shape, generator=gen)
        with_scipy = sum(int(counts[r, c]) for r, c in best_matching(counts))
        rows_first = counts if shape[1] <= shape[0] else counts.t()
        pairs = _assignment_by_subsets(rows_first.tolist())
        assert len({c for _, c in pairs}) == len(pairs) == min(shape)  # one to one
        assert sum(rows_first[r, c].item() for r, c in pairs) == with_scipy


# ---------------------------------------------------------------------- pictures
def test_the_category_picture_holds_g_of_each_category_and_column_noise() -> None:
    model = small_infogan().eval()
    pictures = code_pictures(model, columns=3, seed=0)
    assert sorted(pictures) == ["infogan_c2", "infogan_c3", "infogan_categories"]
    assert pictures["infogan_categories"].shape == (3, 10 * 30 + 2, 3 * 30 + 2)  # 10 rows x 3 columns of 28 + 2 px
    z = torch.randn(3, 6, generator=torch.Generator().manual_seed(0))
    tile = model.sample_from(model.latent_with_codes(z[2:3], 4, 0.0))[0, 0]  # row 4, column 2
    grid_tile = pictures["infogan_categories"][0, 2 + 4 * 30 : 2 + 4 * 30 + 28, 2 + 2 * 30 : 2 + 2 * 30 + 28]
    assert torch.allclose(grid_tile, ((tile + 1) / 2).clamp(0, 1), atol=1e-6)
    c2 = pictures["infogan_c2"]
    assert not torch.allclose(c2[:, :, 2:30], c2[:, :, -30:-2])  # the sweep's two ends differ


def test_the_pictures_callback_writes_its_pngs_while_training(tmp_path: Path) -> None:
    model = small_infogan()
    data = DataLoader(TensorDataset(torch.rand(8, *SHAPE) * 2 - 1), batch_size=4)
    callback = InfoGANPictures(every_n_steps=1, columns=2)
    quiet_trainer(max_steps=4, callbacks=[callback], default_root_dir=str(tmp_path)).fit(model, data)
    names = sorted(p.name for p in (tmp_path / "pictures").glob("*.png"))
    assert {n.split("_step_")[0] for n in names} == {"infogan_categories", "infogan_c2", "infogan_c3"}
    assert len(names) == 6  # after batch 1 and batch 2 (max_steps counts both optimizers' steps: 2 batches)
    assert Image.open(callback.paths["infogan_c2"]).size == (2 * 30 + 2, 10 * 30 + 2)
    with pytest.raises(LightgenError, match="GAN has none"):
        callback.setup(None, GAN(data_shape=(2,)), "fit")  # type: ignore[arg-type]
