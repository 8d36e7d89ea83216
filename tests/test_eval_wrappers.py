"""Model-facing wrappers (zero_shot, retrieval_metrics, linear_probe, embed_corpus).

A fake corpus and a fake model with known geometry check the wrapper logic exactly;
one test runs an untrained ELM bundle on a real cache and recomputes by hand.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from braindecode_elm.evaluation import (
    embed_corpus,
    linear_probe,
    retrieval_metrics,
    zero_shot,
)
from braindecode_elm.evaluation.splits import subject_split

D = 8


class FakeRecording:
    def __init__(self, rid, subject, label, n_crops, sentences):
        self.id, self.subject = rid, subject
        self.description = {"target": label}
        self._label, self._n = label, n_crops
        self._sentences = sentences
        self.idx = int(rid[1:])

    def crops(self, seconds=5.0, *, drop_first_s=10.0, max_minutes=45.0):
        # Channel 0 carries the recording index, channel 1 the label: the fake
        # model reads them back.
        x = np.zeros((self._n, 20, int(seconds * 100)), dtype=np.float16)
        x[:, 0] = self.idx
        x[:, 1] = self._label
        x[:, 2] = np.arange(self._n)[:, None]
        return x

    def segments(self, mode="sentence"):
        return list(self._sentences)


class FakeCorpus:
    def __init__(self, recs):
        self._recs = {r.id: r for r in recs}
        self.ids = [r.id for r in recs]
        self.subjects = [r.subject for r in recs]

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, key):
        return self._recs[key if isinstance(key, str) else self.ids[key]]


class FakeModel(torch.nn.Module):
    """EEG of recording i -> e_label + 2 * e_(2+i); text 'rec i' -> e_(2+i)."""

    temperature = 1.0

    def embed_eeg(self, x):
        out = torch.zeros(len(x), D)
        idx = x[:, 0, 0].long()
        lab = x[:, 1, 0].long()
        out[torch.arange(len(x)), lab] = 1.0
        out[torch.arange(len(x)), 2 + idx] = 2.0
        return torch.nn.functional.normalize(out, dim=-1)

    def embed_text(self, texts):
        out = torch.zeros(len(texts), D)
        for i, t in enumerate(texts):
            if t.startswith("rec"):
                out[i, 2 + int(t.split()[1])] = 1.0
            elif "abnormal" in t:
                out[i, 1] = 1.0
            else:
                out[i, 0] = 1.0
        return torch.nn.functional.normalize(out, dim=-1)


@pytest.fixture
def fake():
    recs = [
        FakeRecording(
            f"r{i}", f"s{i // 2}", i % 2, 3 + i % 2, [f"rec {i} a", f"rec {i} b"]
        )
        for i in range(6)
    ]
    return FakeCorpus(recs), FakeModel()


PROMPTS = {"normal": ["normal eeg", "a normal record"], "abnormal": ["abnormal eeg"]}


def test_embed_corpus_groups_crops_and_texts(fake):
    corpus, model = fake
    emb = embed_corpus(model, corpus, with_text=True)
    assert emb.ids == corpus.ids
    assert len(emb.crop_groups) == sum(3 + i % 2 for i in range(6))
    assert emb.crop_embeddings.shape == (len(emb.crop_groups), D)
    np.testing.assert_allclose(np.linalg.norm(emb.crop_embeddings, axis=1), 1.0)
    assert emb.text_groups == [f"r{i}" for i in range(6) for _ in range(2)]
    sub = embed_corpus(model, corpus, recording_ids=["r1", "r4"], max_crops=2)
    assert sub.crop_groups == ["r1", "r1", "r4", "r4"]
    # an id given twice is embedded once (it weighed twice in every figure)
    with pytest.warns(UserWarning, match=r"1 id\(s\) more than once.*'r1'"):
        dup = embed_corpus(model, corpus, recording_ids=["r1", "r4", "r1"], max_crops=2)
    assert dup.ids == ["r1", "r4"] and dup.crop_groups == sub.crop_groups
    with pytest.raises(ValueError, match="no recordings"):
        embed_corpus(model, corpus, recording_ids=[])


def test_zero_shot_wrapper_exact(fake):
    corpus, model = fake
    res = zero_shot(model, corpus, PROMPTS)
    assert res["ids"] == corpus.ids
    assert res["predictions"] == ["normal", "abnormal"] * 3
    assert res["balanced_accuracy"] == 1.0 and res["auroc"] == 1.0
    np.testing.assert_array_equal(res["confusion_matrix"], [[3, 0], [0, 3]])
    # score = cos(EEG, class) = 1/sqrt(5) for the right class, 0 for the other
    np.testing.assert_allclose(res["scores"][0], [1 / np.sqrt(5), 0.0], atol=1e-6)
    crop = zero_shot(model, corpus, PROMPTS, aggregate="crop")
    assert len(crop["ids"]) == sum(3 + i % 2 for i in range(6))
    with pytest.raises(ValueError, match="aggregate"):
        zero_shot(model, corpus, PROMPTS, aggregate="subject")
    with pytest.raises(ValueError, match="neither a class name"):
        zero_shot(model, corpus, PROMPTS, labels={r: "maybe" for r in corpus.ids})


def test_zero_shot_labels_by_name_and_mapping(fake):
    corpus, model = fake
    names = {r: ("normal", "abnormal")[int(r[1:]) % 2] for r in corpus.ids}
    assert zero_shot(model, corpus, PROMPTS, labels=names)["balanced_accuracy"] == 1.0
    flipped = {r: 1 - int(r[1:]) % 2 for r in corpus.ids}
    res = zero_shot(model, corpus, PROMPTS, labels=flipped)
    assert res["balanced_accuracy"] == 0.0 and res["auroc"] == 0.0


def test_retrieval_wrapper_perfect_and_chance(fake):
    corpus, model = fake
    res = retrieval_metrics(model, corpus)
    assert res["n_recordings"] == 6 and res["n_segments"] == 12
    for direction in ("eeg_to_text", "text_to_eeg"):
        assert res[direction]["R@1"] == 1.0
        assert res[direction]["median_rank"] == 1.0
        assert res[direction]["mAP"] == 1.0
    assert res["chance_R@1"] == pytest.approx(1 / 6)


def test_linear_probe_wrapper(fake):
    corpus, model = fake
    emb = embed_corpus(model, corpus)
    tr, te = subject_split(emb.ids, [emb.subjects[r] for r in emb.ids], [0.67, 0.33])
    res = linear_probe(
        model,
        emb.subset(tr),
        emb.subset(te),
        val=emb.subset(tr),
        fractions=(1.0,),
        seeds=2,
        Cs=[1.0],
    )
    assert res["level"] == "recording"
    assert res["summary"][1.0]["balanced_accuracy_mean"] == 1.0
    win = linear_probe(
        model,
        emb.subset(tr),
        emb.subset(te),
        val=emb.subset(tr),
        level="window",
        fractions=(0.5, 1.0),
        seeds=1,
        Cs=[1.0],
    )
    n_win = sum(1 for g in emb.crop_groups if g in set(tr))
    assert win["summary"][1.0]["n_train"] == n_win


def test_subject_split_disjoint_and_stratified():
    ids = [f"r{i}" for i in range(40)]
    subj = [f"s{i // 2}" for i in range(40)]
    lab = [int(i < 12) for i in range(40)]
    a, b, c = subject_split(ids, subj, [0.6, 0.2, 0.2], seed=1, stratify=lab)
    assert sorted(a + b + c, key=lambda r: int(r[1:])) == ids
    sa, sb, sc = ({subj[int(r[1:])] for r in p} for p in (a, b, c))
    assert not (sa & sb) and not (sa & sc) and not (sb & sc)
    for part in (a, b, c):
        assert {lab[int(r[1:])] for r in part} == {0, 1}
    with pytest.raises(ValueError, match="subject-disjoint"):
        subject_split(ids[:2], ["s", "s"], [0.5, 0.5])


def test_untrained_elm_on_real_cache_matches_manual(small_cache):
    from braindecode_elm.models import ELM, ELMEncoder, TextEncoder, TextProjection

    corpus, truth = small_cache
    torch.manual_seed(0)
    text = TextEncoder("minilm")
    model = ELM(ELMEncoder(n_filters=8), text, TextProjection(text.dim)).eval()
    emb = embed_corpus(model, corpus, with_text=True, max_crops=4)
    rid = corpus.ids[0]
    crops = np.asarray(corpus[rid].crops(5.0), dtype=np.float32)
    pick = np.linspace(0, len(crops) - 1, 4).round().astype(int)
    with torch.no_grad():
        manual = model.embed_eeg(torch.from_numpy(crops[pick])).numpy()
    mine = emb.crop_embeddings[[g == rid for g in emb.crop_groups]]
    np.testing.assert_allclose(mine, manual, atol=1e-5)
    labels = {r: int(truth[r]) for r in corpus.ids}
    res = zero_shot(model, emb, PROMPTS, labels=labels)
    with torch.no_grad():
        cls = [
            torch.nn.functional.normalize(model.embed_text(p), dim=-1).mean(0)
            for p in PROMPTS.values()
        ]
    cls = torch.nn.functional.normalize(torch.stack(cls), dim=-1).numpy()
    rec0 = (mine @ cls.T).mean(0) / model.temperature
    np.testing.assert_allclose(res["scores"][0], rec0, atol=1e-5)
    rt = retrieval_metrics(model, emb)
    assert 0.0 <= rt["eeg_to_text"]["R@1"] <= 1.0
    assert rt["n_segments"] == sum(len(corpus[r].segments()) for r in corpus.ids)


@pytest.fixture(scope="module")
def small_cache(tmp_path_factory):
    from eval_helpers import build_small_cache

    corpus, labels, _ = build_small_cache(
        tmp_path_factory.mktemp("evalcache"), n_subjects=8, seed=3
    )
    return corpus, labels


def test_elm_classifier_finetunes_a_copy():
    from braindecode_elm.evaluation import elm_classifier
    from braindecode_elm.models import ELMEncoder

    torch.manual_seed(0)
    enc = ELMEncoder(n_filters=8).eval()
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    rng = np.random.default_rng(0)
    y = np.arange(16) % 2
    X = rng.normal(size=(16, 20, 500)).astype(np.float32)
    X[:, 0] += 3.0 * y[:, None]  # class signal on one channel
    clf = elm_classifier(enc, 2, max_epochs=3, batch_size=8, lr=1e-2)
    clf.fit(X, y)
    assert clf.predict_proba(X).shape == (16, 2)
    for k, v in enc.state_dict().items():  # the pretrained tower is untouched
        assert torch.equal(v, before[k]), k
    frozen = elm_classifier(enc, 2, freeze_tower=True, max_epochs=2, batch_size=8)
    frozen.initialize()
    trainable = [n for n, p in frozen.module_.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith("final_layer") for n in trainable)
    # Head-only training leaves the tower's embedding as it was: weights *and*
    # BatchNorm statistics (they drifted by 17 % before; outside user).
    tower0 = {k: v.clone() for k, v in frozen.module_.state_dict().items()}
    frozen.partial_fit(X, y)
    after = frozen.module_.state_dict()
    changed = [k for k in tower0 if not torch.equal(tower0[k], after[k])]
    assert changed and all(k.startswith("final_layer.") for k in changed), changed
    head = frozen.module_
    with torch.no_grad():
        emb = head.eval()(torch.from_numpy(X), return_features=True)["embedding"]
        ref = enc.eval()(torch.from_numpy(X), return_features=True)["embedding"]
    torch.testing.assert_close(emb, ref)
    head.freeze_tower(False).train()
    assert all(p.requires_grad for p in head.parameters())
    assert all(m.training for m in head.modules())
    with pytest.raises(ValueError, match="n_outputs"):
        elm_classifier(enc, 1)


def test_elm_classifier_names_labels_its_head_cannot_take():
    # A third class used to reach torch's loss as a bare "IndexError: Target 2
    # is out of bounds".
    from braindecode_elm.evaluation import elm_classifier
    from braindecode_elm.models import ELMEncoder

    torch.manual_seed(0)
    enc = ELMEncoder(n_filters=4).eval()
    X = np.random.default_rng(0).normal(size=(12, 20, 500)).astype(np.float32)
    kw = dict(max_epochs=1, batch_size=4)
    with pytest.raises(ValueError, match="3 classes .* n_outputs=2: pass n_outputs=3"):
        elm_classifier(enc, 2, **kw).fit(X, np.arange(12) % 3)
    with pytest.raises(ValueError, match=r"integers 0..2 .* from 1 to 3"):
        elm_classifier(enc, 3, **kw).fit(X, np.arange(12) % 3 + 1)
    with pytest.raises(ValueError, match="LabelEncoder"):
        elm_classifier(enc, 2, **kw).fit(X, np.array(["rest", "task"] * 6))
    # labels 1..4: re-encode, not "pass n_outputs=4" (label 4 would still be out)
    with pytest.raises(ValueError, match="from 1 to 4: encode them as 0..n_classes-1"):
        elm_classifier(enc, 2, **kw).fit(X, np.arange(12) % 4 + 1)
    # targets the loss skips (ignore_index) and Braindecode's Mixup batches train
    ignored = np.where(np.arange(12) % 4 == 3, -100, np.arange(12) % 2)
    elm_classifier(enc, 2, **kw).fit(X, ignored)
    from braindecode.augmentation import AugmentedDataLoader, Mixup
    from braindecode.training import mixup_criterion

    class MixupLoss(torch.nn.Module):
        def forward(self, preds, target):
            return mixup_criterion(preds, target)

    mixup = elm_classifier(
        enc, 2, iterator_train=AugmentedDataLoader, criterion=MixupLoss,
        iterator_train__transforms=[Mixup(alpha=0.5, random_state=0)], **kw,
    )  # fmt: skip
    mixup.fit(X, np.arange(12) % 2)
    assert len(mixup.history) == 1
    # Labels the head can take still train, with a user's own callbacks kept.
    from skorch.callbacks import EpochScoring

    clf = elm_classifier(
        enc,
        3,
        callbacks=[("acc", EpochScoring("accuracy", on_train=True, name="acc"))],
        **kw,
    )
    clf.fit(X, np.arange(12) % 3)
    assert "acc" in clf.history[-1]
    # ... and pickles, fitted or not (the check was a class defined inside a
    # function: "Can't pickle local object"; outside user).
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X))
    pickle.dumps(elm_classifier(enc, 2))


def test_elm_classifier_checks_a_braindecode_datasets_window_targets():
    # The windows' own targets are checked (batch by batch), not the recording
    # description's "target" column, which Braindecode's get_metadata() puts
    # over them: a valid dataset was refused and a -1 target got through.
    import mne
    from braindecode.datasets import BaseConcatDataset, RawDataset
    from braindecode.preprocessing import create_fixed_length_windows

    from braindecode_elm.evaluation import elm_classifier
    from braindecode_elm.models import ELMEncoder

    rng = np.random.default_rng(1)

    def dataset(targets, target_name=None):
        parts = []
        for t in targets:
            info = mne.create_info([f"c{i}" for i in range(20)], 100.0, "eeg")
            raw = mne.io.RawArray(rng.normal(size=(20, 2000)), info, verbose=False)
            desc = pd.Series({"target": t})
            parts.append(RawDataset(raw, desc, target_name=target_name))
        return BaseConcatDataset(parts)

    mapping = {"rest": 0, "arithmetic": 1}
    windows = create_fixed_length_windows(
        dataset(["rest", "arithmetic"], "target"), window_size_samples=500,
        window_stride_samples=500, on_last_window="drop", mapping=mapping,
    )  # fmt: skip
    torch.manual_seed(0)
    clf = elm_classifier(ELMEncoder(n_filters=4), 2, max_epochs=1, batch_size=4)
    clf.fit(windows, y=None)
    assert len(clf.history) == 1
    # Without a mapping the windows' targets are -1 ("none"), whatever the
    # description says.
    bad = create_fixed_length_windows(
        dataset([0, 1]), window_size_samples=500, window_stride_samples=500,
        on_last_window="drop",
    )  # fmt: skip
    assert {bad[i][1] for i in range(len(bad))} == {-1}
    clf = elm_classifier(ELMEncoder(n_filters=4), 2, max_epochs=1, batch_size=4)
    with pytest.raises(ValueError, match=r"0..1 .* from -1 to .* training batch"):
        clf.fit(bad, y=None)
