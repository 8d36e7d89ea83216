"""Losses against brute-force references (values and gradients)."""

from __future__ import annotations

import math

import pytest
import torch

from braindecode_elm.losses import (
    AttentionMILClipLoss,
    AttentionMILPooling,
    ClipLoss,
    MFlagLoss,
    MILInfoNCE,
    gather_with_grad,
)

TAU = 0.3


@pytest.fixture(autouse=True)
def _float64():
    # References are computed in float64 loops; restore the default afterwards.
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / math.sqrt(float(sum(float(a) ** 2 for a in v)))


def _sim(e: torch.Tensor, t: torch.Tensor, tau: float) -> list[list[torch.Tensor]]:
    """Cosine similarities / tau, element by element (graph kept for grads)."""
    ue = [e[i] / e[i].norm() for i in range(e.shape[0])]
    ut = [t[j] / t[j].norm() for j in range(t.shape[0])]
    return [
        [(ue[i] * ut[j]).sum() / tau for j in range(len(ut))] for i in range(len(ue))
    ]


def _logsumexp(vals: list[torch.Tensor]) -> torch.Tensor:
    return torch.log(sum(torch.exp(v) for v in vals))


def ref_clip(e: torch.Tensor, t: torch.Tensor, tau: float = TAU) -> torch.Tensor:
    s = _sim(e, t, tau)
    n = len(s)
    row = sum(-(s[i][i] - _logsumexp(s[i])) for i in range(n)) / n
    col = (
        sum(-(s[j][j] - _logsumexp([s[i][j] for i in range(n)])) for j in range(n)) / n
    )
    return (row + col) / 2


def ref_mil(e, t, eeg_ids, text_ids, tau=TAU, pos_mask=None) -> torch.Tensor:
    s = _sim(e, t, tau)
    n, m = len(s), len(s[0])

    def pos(i, j):
        p = eeg_ids is not None and int(eeg_ids[i]) == int(text_ids[j])
        return p or (pos_mask is not None and bool(pos_mask[i, j]))

    row_terms = []
    for i in range(n):
        lse = _logsumexp(s[i])
        ps = [s[i][j] - lse for j in range(m) if pos(i, j)]
        if ps:
            row_terms.append(sum(ps) / len(ps))
    col_terms = []
    for j in range(m):
        lse = _logsumexp([s[i][j] for i in range(n)])
        ps = [s[i][j] - lse for i in range(n) if pos(i, j)]
        if ps:
            col_terms.append(sum(ps) / len(ps))
    return -0.5 * (sum(row_terms) / len(row_terms) + sum(col_terms) / len(col_terms))


def _leaf(*shape, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g) * 2).requires_grad_(True)


def _grads(fn, *leaves):
    for leaf in leaves:
        leaf.grad = None
    out = fn()
    out.backward()
    return out.detach(), [leaf.grad.clone() for leaf in leaves]


def test_clip_matches_reference() -> None:
    e, t = _leaf(5, 7, seed=0), _leaf(5, 7, seed=1)
    got, g_got = _grads(lambda: ClipLoss(TAU)(e, t), e, t)
    ref, g_ref = _grads(lambda: ref_clip(e, t), e, t)
    torch.testing.assert_close(got, ref)
    for a, b in zip(g_got, g_ref):
        torch.testing.assert_close(a, b)


def test_clip_is_scale_invariant_and_perfect_pairs_are_low() -> None:
    e = torch.eye(4, 8)
    loss = ClipLoss(0.05)
    assert float(loss(3 * e, e)) < 1e-6
    torch.testing.assert_close(loss(e, e), loss(5 * e, 0.5 * e))
    # Mismatched pairing is much worse.
    assert float(loss(e, e.flip(0))) > 10


def test_clip_learnable_temperature_gets_gradient() -> None:
    loss = ClipLoss(0.3, learnable=True)
    assert loss.temperature.value == pytest.approx(0.3)
    out = loss(_leaf(4, 6, seed=2), _leaf(4, 6, seed=3))
    out.backward()
    assert loss.temperature.log_inv_temperature.grad is not None
    assert ClipLoss(0.3).temperature.log_inv_temperature.requires_grad is False


def test_clip_rejects_unpaired() -> None:
    with pytest.raises(ValueError, match="paired rows"):
        ClipLoss()(torch.randn(3, 4), torch.randn(4, 4))
    with pytest.raises(ValueError, match="differ in dimension"):
        ClipLoss()(torch.randn(3, 4), torch.randn(3, 5))


MIL_IDS = (
    torch.tensor([0, 0, 0, 1, 1, 2, 3]),  # crops: recording 3 has no text
    torch.tensor([0, 1, 1, 1, 2, 2, 4]),  # texts: recording 4 has no crop
)


def test_mil_matches_reference() -> None:
    e, t = _leaf(7, 6, seed=4), _leaf(7, 6, seed=5)
    ei, ti = MIL_IDS
    got, g_got = _grads(lambda: MILInfoNCE(TAU)(e, t, ei, ti), e, t)
    ref, g_ref = _grads(lambda: ref_mil(e, t, ei, ti), e, t)
    torch.testing.assert_close(got, ref)
    for a, b in zip(g_got, g_ref):
        torch.testing.assert_close(a, b)


def test_mil_pos_mask_augments_ids() -> None:
    e, t = _leaf(7, 6, seed=6), _leaf(7, 6, seed=7)
    ei, ti = MIL_IDS
    mask = torch.zeros(7, 7, dtype=torch.bool)
    mask[6, 6] = True  # recording 3's crop matches recording 4's text
    mask[0, 3] = True
    got, g_got = _grads(lambda: MILInfoNCE(TAU)(e, t, ei, ti, pos_mask=mask), e, t)
    ref, g_ref = _grads(lambda: ref_mil(e, t, ei, ti, pos_mask=mask), e, t)
    torch.testing.assert_close(got, ref)
    for a, b in zip(g_got, g_ref):
        torch.testing.assert_close(a, b)
    without = MILInfoNCE(TAU)(e, t, ei, ti)
    assert not torch.allclose(got, without)


def test_mil_pos_mask_alone_overrides() -> None:
    e, t = _leaf(4, 5, seed=8), _leaf(3, 5, seed=9)
    mask = torch.tensor([[1, 0, 0], [0, 1, 1], [0, 0, 0], [1, 0, 1]], dtype=torch.bool)
    got = MILInfoNCE(TAU)(e, t, pos_mask=mask)
    torch.testing.assert_close(got, ref_mil(e, t, None, None, pos_mask=mask))


def test_mil_reduces_to_clip_for_one_pair_per_recording() -> None:
    e, t = _leaf(6, 5, seed=10), _leaf(6, 5, seed=11)
    ids = torch.arange(6)
    torch.testing.assert_close(MILInfoNCE(0.2)(e, t, ids, ids), ClipLoss(0.2)(e, t))


def test_mil_bad_inputs() -> None:
    e, t = torch.randn(3, 4), torch.randn(2, 4)
    with pytest.raises(ValueError, match="both eeg_ids and text_ids"):
        MILInfoNCE()(e, t, torch.arange(3), None)
    with pytest.raises(ValueError, match="needs recording ids"):
        MILInfoNCE()(e, t)
    with pytest.raises(ValueError, match=r"eeg_ids must have shape \(3,\)"):
        MILInfoNCE()(e, t, torch.arange(2), torch.arange(2))
    with pytest.raises(ValueError, match="pos_mask must be a bool"):
        MILInfoNCE()(e, t, pos_mask=torch.ones(3, 2))
    with pytest.raises(ValueError, match="no positive"):
        MILInfoNCE()(e, t, torch.tensor([0, 0, 0]), torch.tensor([1, 1]))


def ref_mflag(e, t, feats, gamma=0.5, offdiag=0.0051, eps=1e-5):
    b, f = feats.shape
    align = sum(2 - 2 * (_unit_t(e[i]) * _unit_t(t[i])).sum() for i in range(b)) / b
    cols = []
    for k in range(f):
        c = feats[:, k]
        mu = sum(c[i] for i in range(b)) / b
        var = sum((c[i] - mu) ** 2 for i in range(b)) / b
        cols.append([(c[i] - mu) / torch.sqrt(var + eps) for i in range(b)])
    orth = 0
    for p in range(f):
        for q in range(f):
            cpq = sum(cols[p][i] * cols[q][i] for i in range(b)) / b
            orth = orth + ((cpq - 1) ** 2 if p == q else offdiag * cpq**2)
    return (1 - gamma) * align + gamma * orth


def _unit_t(v):
    return v / v.norm()


def test_mflag_matches_reference() -> None:
    e, t, f = _leaf(5, 6, seed=12), _leaf(5, 6, seed=13), _leaf(5, 4, seed=14)
    loss = MFlagLoss(gamma=0.3, offdiag=0.02)
    got, g_got = _grads(lambda: loss(e, t, f), e, t, f)
    ref, g_ref = _grads(lambda: ref_mflag(e, t, f, 0.3, 0.02), e, t, f)
    torch.testing.assert_close(got, ref)
    for a, b in zip(g_got, g_ref):
        torch.testing.assert_close(a, b)


def test_mflag_terms() -> None:
    e = torch.randn(6, 8)
    loss = MFlagLoss()
    assert float(loss.alignment(e, 2 * e)) == pytest.approx(0.0, abs=1e-12)
    assert float(loss.alignment(e, -e)) == pytest.approx(4.0)
    # Whitened (decorrelated, unit-variance) features have ~zero orthogonality loss.
    q, _ = torch.linalg.qr(torch.randn(64, 64))
    white = q[:, :4] - q[:, :4].mean(0)
    assert float(loss.orthogonality(white * 10)) < 0.05
    with pytest.raises(ValueError, match="gamma"):
        MFlagLoss(gamma=2)
    with pytest.raises(ValueError, match="paired rows"):
        loss(torch.randn(3, 4), torch.randn(2, 4), torch.randn(3, 5))


def test_attention_pooling_matches_reference() -> None:
    pool = AttentionMILPooling(in_dim=5, hidden=3)
    x = _leaf(7, 5, seed=15)
    ids = torch.tensor([4, 1, 4, 4, 9, 1, 9])
    got, got_ids, w = pool(x, ids)
    assert got_ids.tolist() == [1, 4, 9]
    for r, bag in enumerate([1, 4, 9]):
        rows = [i for i in range(7) if int(ids[i]) == bag]
        s = torch.stack(
            [
                pool.w(torch.tanh(pool.V(x[i])) * torch.sigmoid(pool.U(x[i])))[0]
                for i in rows
            ]
        )
        a = torch.exp(s) / torch.exp(s).sum()
        torch.testing.assert_close(w[rows], a)
        torch.testing.assert_close(got[r], (a[:, None] * x[rows]).sum(0))
    # Gradients flow to instances and attention parameters.
    got.sum().backward()
    assert x.grad is not None and pool.V.weight.grad is not None


def test_attention_mil_clip_loss_reference() -> None:
    loss = AttentionMILClipLoss(in_dim=6, hidden=4, temperature=0.5)
    e, t = _leaf(7, 6, seed=16), _leaf(5, 6, seed=17)
    ei = torch.tensor([0, 0, 1, 2, 2, 2, 1])
    ti = torch.tensor([2, 0, 1, 1, 2])
    got = loss(e, t, ei, ti)
    en = e / e.norm(dim=1, keepdim=True)
    pooled, _, _ = loss.pool(en, ei)
    tn = t / t.norm(dim=1, keepdim=True)
    tmean = torch.stack([tn[ti == r].mean(0) for r in (0, 1, 2)])
    torch.testing.assert_close(got, ref_clip(pooled, tmean, 0.5))
    with pytest.raises(ValueError, match="ids only on one side: \\[3\\]"):
        loss(e, t, ei, torch.tensor([2, 0, 1, 3, 2]))


def test_gather_with_grad_is_identity_without_process_group() -> None:
    t = torch.randn(3, 2, requires_grad=True)
    assert gather_with_grad(t) is t
