"""Pretrain an ELM bundle on text made from labels and metadata.

The recipe for collections without free-text reports (the shared eegmat and
EEGBCI data, a BIDS or MOABB dataset, TUH without its reports): a
:class:`~braindecode_elm.data.labelled_corpus.LabelledCorpus` holds the
preprocessed signals and the facts of every labelled segment; a
:class:`~braindecode_elm.data.descriptions.DescriptionBuilder` writes every fact
in several wordings. Training contrasts 5 s EEG crops with those sentences,
*fact by fact*: for each fact a crop has (its state, its age group ...), the
crop must score the sentences stating its value (in any wording) above the
sentences stating the other values of the same fact, and each sentence must
pick the crops with its value among the batch. Positives therefore follow
meaning: identical facts, whatever the wording or the recording.

The language model stays frozen (its features of every sentence are computed
once); the EEG tower and the text projection are trained. Crops start at a new
random offset inside their segment every epoch, and get a random gain, so that
the tower does not memorise the few dozen recordings.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..dsp.recipe import ELM_CROP_S, ELM_SFREQ

__all__ = ["LabelledRecipe", "pretrain_labelled", "fact_prompts"]


@dataclass
class LabelledRecipe:
    """Settings of :func:`pretrain_labelled`.

    The defaults are the recipe of the shipped ``elm-open-5s`` bundle
    (:data:`~braindecode_elm.evaluation.open_recipe.OPEN_RECIPE`).

    Attributes
    ----------
    n_filters : int
        Filters per branch of the EEG tower (32 in the paper; smaller is cheaper).
    epochs : int
        Passes over the crops.
    batch_size : int
        Crops per batch (batches hold one dataset each).
    lr, weight_decay : float
        AdamW settings (cosine decay to 1 % over the run).
    temperature : float
        Softmax temperature of the contrast (stored in the bundle).
    crop_seconds : float
        Crop length (5 s: the ``5s`` tower).
    gain_jitter : float
        Crops are scaled by ``exp(U(-g, g))``.
    facts : sequence of str | None
        Facts to learn (default every fact found in the corpus).
    fact_weights : mapping
        Weight of a fact's loss (default 1).
    text_model : str
        Frozen language model (``"minilm"`` ships with the package).
    text_hidden : int
        Hidden width of the text projection.
    seed : int
        Seed of the initialisation, crop offsets and batch order.
    """

    n_filters: int = 16
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05
    temperature: float = 0.1
    crop_seconds: float = ELM_CROP_S
    gain_jitter: float = 0.7
    facts: tuple[str, ...] | None = None
    fact_weights: dict[str, float] = field(default_factory=dict)
    text_model: str = "minilm"
    text_hidden: int = 512
    seed: int = 0


def _epoch_crops(
    corpus: Any, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Start sample and segment of this epoch's crops (random offsets)."""
    starts, segs = [], []
    for i, s in enumerate(corpus.segments):
        total = corpus.signals[s.recording].shape[1]
        if total < n:
            continue
        length = s.stop - s.start
        if length < n:
            # Short event (e.g. a 4 s EEGBCI cue): one crop from the onset.
            starts.append(min(s.start, total - n))
            segs.append(i)
            continue
        k = length // n
        off = int(rng.integers(0, length - k * n + 1))
        starts += [min(s.start + off + n * j, total - n) for j in range(k)]
        segs += [i] * k
    return np.asarray(starts), np.asarray(segs)


def fact_prompts(
    builder: Any, fact: str, values: Sequence[str]
) -> dict[str, list[str]]:
    """Zero-shot prompts of ``fact``: every wording of each value."""
    return {v: builder.paraphrases(fact, v) for v in values}


def pretrain_labelled(
    corpus: Any,
    recipe: LabelledRecipe | None = None,
    *,
    builder: Any = None,
    text_encoder: Any = None,
    prompt_sets: Mapping[str, Any] | None = None,
    log: Callable[[str], None] | None = print,
) -> tuple[Any, dict[str, Any]]:
    """Train an ELM bundle on the facts of a labelled corpus.

    Parameters
    ----------
    corpus : LabelledCorpus
        Training segments (e.g. the ``train`` part of
        :meth:`~braindecode_elm.data.labelled_corpus.LabelledCorpus.split`).
    recipe : LabelledRecipe | None
        Settings (defaults when None).
    builder : DescriptionBuilder | None
        Wordings of the facts (default ``DescriptionBuilder()``).
    text_encoder : TextEncoder | None
        Frozen language model (default ``TextEncoder(recipe.text_model)``).
    prompt_sets : mapping | None
        Stored in the bundle (zero-shot prompt sets by name).
    log : callable | None
        Progress lines (None: silent).

    Returns
    -------
    model : ELM
        The trained bundle, in eval mode.
    history : dict
        ``loss`` per epoch, the facts, sentence count and training time.
    """
    import torch

    from braindecode_elm.data.descriptions import DescriptionBuilder
    from braindecode_elm.models import TextEncoder, create_model

    recipe = recipe or LabelledRecipe()
    builder = builder or DescriptionBuilder()
    t0 = time.perf_counter()
    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng([recipe.seed, 104729])
    seg_facts = [dict(s.facts) for s in corpus.segments]
    names = recipe.facts or sorted({f for fs in seg_facts for f in fs})
    values = {f: {fs[f] for fs in seg_facts if f in fs} for f in names}
    single = {f: sorted(v)[0] for f, v in values.items() if len(v) == 1}
    if single and len(single) < sum(1 for v in values.values() if v):
        # Every crop of such a fact has the same sentences as positives: the
        # contrast has nothing to learn from it.
        warnings.warn(
            "facts with one value in the corpus teach nothing and are left "
            f"out: {single}",
            UserWarning,
            stacklevel=2,
        )
    elif single:
        raise ValueError(
            f"every fact has one value in the corpus ({single}): a contrast "
            "needs at least two values of a fact (e.g. rest and arithmetic "
            "recordings); add recordings of another class or another fact"
        )
    names = [f for f in names if f not in single]
    seg_facts = [{k: v for k, v in fs.items() if k in names} for fs in seg_facts]
    # Every wording of every value that occurs, once.
    sentences, seen = [], set()
    for fs in seg_facts:
        for s in builder.sentences(fs, "all"):
            if (s.fact, s.value, s.text) not in seen:
                seen.add((s.fact, s.value, s.text))
                sentences.append(s)
    if not sentences:
        held = sorted({f for s in corpus.segments for f in s.facts})
        raise ValueError(
            f"no sentence to learn: the corpus has none of the facts {list(names)}; "
            f"its recordings have {held}: pass facts= (elm pretrain-labelled "
            "--facts) among those"
        )
    enc = text_encoder or TextEncoder(recipe.text_model)
    with torch.no_grad():
        text_feats = enc.encode([s.text for s in sentences]).float()
    n_times = int(round(recipe.crop_seconds * ELM_SFREQ))
    variant = "5s" if recipe.crop_seconds == 5.0 else "60s"
    model = create_model(
        "ELM",
        eeg_encoder=create_model(
            "ELMEncoder",
            n_chans=20,
            n_times=n_times,
            sfreq=ELM_SFREQ,
            variant=variant,
            n_filters=recipe.n_filters,
        ),
        text_encoder=enc,
        text_projection=create_model(
            "TextProjection", in_dim=text_feats.shape[1], hidden=recipe.text_hidden
        ),
        temperature=recipe.temperature,
        prompt_sets=dict(prompt_sets or {}),
    )
    # Per fact: the sentence columns and, per segment, which of them are positive.
    fact_cols = {f: np.flatnonzero([s.fact == f for s in sentences]) for f in names}
    fact_cols = {f: c for f, c in fact_cols.items() if len(c)}
    pos = DescriptionBuilder.positive_mask(seg_facts, sentences)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    # Crops per epoch are fixed (only their offsets move): so is the step count.
    n_crops = len(_epoch_crops(corpus, n_times, np.random.default_rng(0))[0])
    total_steps = max(1, recipe.epochs * -(-n_crops // recipe.batch_size))

    def cosine(k: int) -> float:
        return 0.01 + 0.99 * 0.5 * (
            1 + np.cos(np.pi * min(k, total_steps) / total_steps)
        )

    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine)
    history: dict[str, Any] = {"loss": [], "facts": list(fact_cols)}
    step = 0
    for epoch in range(recipe.epochs):
        starts, segs = _epoch_crops(corpus, n_times, rng)
        batches = list(
            corpus.batches(segs, recipe.batch_size, seed=recipe.seed * 100003 + epoch)
        )
        model.train()
        total, count = 0.0, 0
        for b in batches:
            x = np.stack(
                [
                    corpus.signals[corpus.segments[segs[i]].recording][
                        :, starts[i] : starts[i] + n_times
                    ]
                    for i in b
                ]
            ).astype(np.float32)
            gain = np.exp(rng.uniform(-recipe.gain_jitter, recipe.gain_jitter, len(b)))
            x = np.clip(x * gain[:, None, None].astype(np.float32), -80.0, 80.0)
            e = model.embed_eeg(torch.from_numpy(x))
            t = model.embed_text_features(text_feats)
            logits = e @ t.T / recipe.temperature
            bpos = torch.from_numpy(pos[segs[b]])
            loss, wsum = logits.new_zeros(()), 0.0
            for f, cols in fact_cols.items():
                rows = [j for j, i in enumerate(b) if f in seg_facts[segs[i]]]
                if len(rows) < 2:
                    continue
                lg = logits[rows][:, cols]
                pm = bpos[rows][:, cols]
                # crop -> sentences of this fact (multi-positive InfoNCE)
                l_e2t = (
                    torch.logsumexp(lg, 1)
                    - torch.logsumexp(lg.masked_fill(~pm, -1e4), 1)
                ).mean()
                # sentence -> crops of the batch, for sentences with a positive
                has = pm.any(0)
                lt = lg.T[has]
                pt = pm.T[has]
                l_t2e = (
                    torch.logsumexp(lt, 1)
                    - torch.logsumexp(lt.masked_fill(~pt, -1e4), 1)
                ).mean()
                w = float(recipe.fact_weights.get(f, 1.0))
                loss = loss + w * 0.5 * (l_e2t + l_t2e)
                wsum += w
            if wsum == 0:
                continue
            loss = loss / wsum
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            total += float(loss.detach())
            count += 1
        history["loss"].append(total / max(count, 1))
        if log is not None:
            log(
                f"epoch {epoch + 1}/{recipe.epochs}: loss {history['loss'][-1]:.4f} "
                f"({count} batches, {time.perf_counter() - t0:.0f} s)"
            )
    history.update(
        steps=step,
        n_sentences=len(sentences),
        n_segments=len(corpus.segments),
        train_s=time.perf_counter() - t0,
        recipe=asdict(recipe),
    )
    return model.eval(), history
