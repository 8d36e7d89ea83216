"""Model cards (``README.md``) for ``ELM`` bundles.

A bundle folder written by :meth:`braindecode_elm.models.ELM.save_pretrained` holds
``config.json`` and ``model.safetensors``; with a :class:`ModelCard` it also holds
a ``README.md`` in the Hugging Face model-card format (YAML front matter, then
Markdown) that says what a user of the weights must know: what data and which
subjects trained it, the preprocessing recipe the inputs must follow, metrics as
mean +- sd over named seeds, the licence, how to cite it, and the prompt sets the
bundle ships for zero-shot classification.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ELM_CITATION",
    "MODEL_CARD_NAME",
    "Metric",
    "ModelCard",
    "TrainingData",
    "read_model_card",
    "write_model_card",
]

#: File name of the model card inside a bundle folder (the Hub's convention).
MODEL_CARD_NAME = "README.md"

#: BibTeX entry of the ELM paper; every card cites it.
ELM_CITATION = """@inproceedings{gijsen2025elm,
  title     = {{EEG}-Language Pretraining for Highly Label-Efficient Clinical
               Phenotyping},
  author    = {Gijsen, Sam and Ritter, Kerstin},
  booktitle = {Proceedings of the 42nd International Conference on Machine
               Learning (ICML)},
  year      = {2025},
  note      = {arXiv:2409.07480}
}"""

# Licence identifiers the Hub's front matter understands are lower-case SPDX-like
# tokens; anything else goes under "other" with the text spelled out in the card.
_LICENSE_TOKEN = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")


@dataclass(frozen=True)
class TrainingData:
    """One dataset that trained (or evaluated) the weights.

    Parameters
    ----------
    name : str
        Dataset name, e.g. ``"EEGMAT (PhysioNet)"``.
    subjects : sequence of str or int
        The subjects used (ids as found inside the corpus). Must not be empty.
    role : str
        What the dataset was used for (``"pretraining"``, ``"probe training"``,
        ``"evaluation"``...).
    n_recordings : int or None
        Number of recordings used, if known.
    hours : float or None
        Hours of EEG used, if known.
    source : str or None
        Where to get the data (URL or citation).
    notes : str or None
        Anything else a user must know (splits, exclusions).
    """

    name: str
    subjects: Sequence[str | int]
    role: str = "pretraining"
    n_recordings: int | None = None
    hours: float | None = None
    source: str | None = None
    notes: str | None = None

    def __post_init__(self) -> None:
        if not str(self.name).strip():
            raise ValueError("TrainingData.name must not be empty")
        if isinstance(self.subjects, (str, bytes)) or not len(self.subjects):
            raise ValueError(
                f"TrainingData({self.name!r}).subjects must be a non-empty list of "
                "subject ids (say which subjects trained the weights)"
            )


@dataclass(frozen=True)
class Metric:
    """A result over seeds: one value per seed, reported as mean +- sd.

    Parameters
    ----------
    task : str
        What was measured on what, e.g. ``"EEGMAT rest vs arithmetic, linear
        probe, subject-disjoint folds"``.
    name : str
        The metric, e.g. ``"balanced accuracy"``.
    values : sequence of float
        One value per seed, in the order of ``seeds``.
    seeds : sequence of int
        The seeds that produced ``values``.
    baselines : mapping of str to sequence of float
        Optional baselines run in the same process over the same seeds
        (name -> one value per seed).
    """

    task: str
    name: str
    values: Sequence[float]
    seeds: Sequence[int]
    baselines: Mapping[str, Sequence[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.values) != len(self.seeds) or not len(self.seeds):
            raise ValueError(
                f"Metric({self.task!r}, {self.name!r}) needs one value per seed: got "
                f"{len(self.values)} values for {len(self.seeds)} seeds"
            )
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(
                f"Metric({self.task!r}) repeats a seed: {list(self.seeds)}"
            )
        for label, vals in [("values", self.values), *self.baselines.items()]:
            if len(vals) != len(self.seeds):
                raise ValueError(
                    f"Metric({self.task!r}) baseline {label!r} has {len(vals)} "
                    f"values for {len(self.seeds)} seeds"
                )
            if not all(math.isfinite(float(v)) for v in vals):
                raise ValueError(
                    f"Metric({self.task!r}) {label!r} has a non-finite value"
                )

    @staticmethod
    def _mean_sd(values: Sequence[float]) -> str:
        v = [float(x) for x in values]
        mean = sum(v) / len(v)
        if len(v) < 2:
            return f"{mean:.3f} (1 seed, no sd)"
        sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1))
        return f"{mean:.3f} +- {sd:.3f}"

    def summary(self) -> str:
        """``mean +- sd`` (sample sd over seeds) of :attr:`values`."""
        return self._mean_sd(self.values)


@dataclass
class ModelCard:
    """What a bundle's ``README.md`` says about its weights.

    Parameters
    ----------
    title : str
        Heading of the card, e.g. ``"elm-open-5s"``.
    summary : str
        One paragraph: what the weights are and what they are for.
    training_data : sequence of TrainingData
        Datasets and subjects that trained the weights. Must not be empty.
    preprocessing : mapping
        The preprocessing recipe inputs must follow (name -> value), e.g. the
        recipe name, band, output rate, montage, scale and clip.
    license : str
        Licence of the weights: an SPDX identifier (``"bsd-3-clause"``,
        ``"cc-by-4.0"``...) or a sentence when it is not a standard one.
    metrics : sequence of Metric
        Results over seeds.
    citation : str
        BibTeX of what to cite; the ELM paper by default.
    prompt_sets : mapping or None
        Prompt sets shipped with the bundle (set name -> class -> phrasings);
        :func:`write_model_card` fills it from the bundle when None.
    prompt_offsets : mapping or None
        Zero-shot class offsets of the prompt sets (set name -> class ->
        offset), computed from the bundle's pretraining windows;
        :func:`write_model_card` fills it from the bundle when None.
    limitations : str or None
        Known limitations and intended use.
    training_recipe : mapping or None
        Training settings (preset, epochs, batch size, seed...).
    tags : sequence of str
        Extra Hub tags.
    """

    title: str
    summary: str
    training_data: Sequence[TrainingData]
    preprocessing: Mapping[str, Any]
    license: str
    metrics: Sequence[Metric] = ()
    citation: str = ELM_CITATION
    prompt_sets: Mapping[str, Any] | None = None
    prompt_offsets: Mapping[str, Mapping[str, float]] | None = None
    limitations: str | None = None
    training_recipe: Mapping[str, Any] | None = None
    tags: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not self.training_data:
            raise ValueError(
                "ModelCard.training_data must name at least one dataset and its "
                "subjects"
            )
        if not self.preprocessing:
            raise ValueError(
                "ModelCard.preprocessing must give the recipe inputs must follow "
                "(band, output rate, montage, scale, clip)"
            )
        if not str(self.license).strip():
            raise ValueError("ModelCard.license must not be empty")

    # -- rendering -------------------------------------------------------------
    def _front_matter(self) -> str:
        lic = str(self.license).strip()
        token = lic.lower() if _LICENSE_TOKEN.match(lic.lower()) else "other"
        lines = ["---", "library_name: braindecode-elm", f"license: {token}"]
        if token == "other":
            lines.append(f"license_name: {_yaml_str(lic)}")
        tags = ["eeg", "braindecode", "elm", "eeg-language", *self.tags]
        lines.append("tags:")
        lines += [f"- {_yaml_str(t)}" for t in dict.fromkeys(tags)]
        lines.append("datasets:")
        lines += [
            f"- {_yaml_str(d.name)}"
            for d in {d.name: d for d in self.training_data}.values()
        ]
        lines.append("---")
        return "\n".join(lines)

    def render(self) -> str:
        """The card as Markdown with YAML front matter.

        Returns
        -------
        str
            Contents of ``README.md``.
        """
        out = [self._front_matter(), "", f"# {self.title}", "", self.summary.strip()]
        out += ["", "## Training data", ""]
        out += ["| dataset | role | subjects | recordings | hours | source |"]
        out += ["|---|---|---|---|---|---|"]
        for d in self.training_data:
            subj = _subjects(d.subjects)
            rec = "" if d.n_recordings is None else str(d.n_recordings)
            hours = "" if d.hours is None else f"{d.hours:g}"
            out.append(
                f"| {d.name} | {d.role} | {subj} | {rec} | {hours} | {d.source or ''} |"
            )
        for d in self.training_data:
            if d.notes:
                out += ["", f"*{d.name}*: {d.notes}"]
        out += ["", "## Preprocessing", ""]
        out += ["Inputs must be prepared with this recipe:", ""]
        out += ["| setting | value |", "|---|---|"]
        out += [f"| {k} | {_cell(v)} |" for k, v in self.preprocessing.items()]
        if self.training_recipe:
            out += ["", "## Training", "", "| setting | value |", "|---|---|"]
            out += [f"| {k} | {_cell(v)} |" for k, v in self.training_recipe.items()]
        out += ["", "## Metrics", ""]
        if not self.metrics:
            out.append("No metrics were recorded for these weights.")
        else:
            out += [
                "Mean +- sample sd over seeds; baselines ran in the same process.",
                "",
            ]
            out += ["| task | metric | model | baselines | seeds |"]
            out += ["|---|---|---|---|---|"]
            for m in self.metrics:
                base = "; ".join(
                    f"{k}: {Metric._mean_sd(v)}" for k, v in m.baselines.items()
                )
                seeds = ", ".join(str(s) for s in m.seeds)
                out.append(
                    f"| {m.task} | {m.name} | {m.summary()} | {base} | {seeds} |"
                )
        out += ["", "## Prompt sets", ""]
        if not self.prompt_sets:
            out.append(
                "This bundle ships no prompt sets: zero-shot classification needs "
                "prompts passed explicitly."
            )
        else:
            out.append(
                "Shipped in `config.json` (`prompt_sets`) for zero-shot "
                "classification; each class averages the embeddings of its phrasings."
            )
            offsets = dict(self.prompt_offsets or {})
            if offsets:
                out += [
                    "",
                    "Sets with class offsets (`prompt_offsets` in `config.json`) "
                    "predict the class with the largest cosine similarity minus its "
                    "offset; each offset is the class-balanced mean similarity to "
                    "that class over the labelled pretraining windows (no test "
                    "data). `elm zeroshot --no-calibration` uses the raw similarities.",
                ]
            for name, classes in self.prompt_sets.items():
                out += ["", f"**{name}**", ""]
                for label, phrases in dict(classes).items():
                    texts = [phrases] if isinstance(phrases, str) else list(phrases)
                    joined = "; ".join(f'"{t}"' for t in texts)
                    out.append(f"- `{label}`: {joined}")
                if name in offsets:
                    values = ", ".join(
                        f"`{c}` {float(v):+.4f}" for c, v in offsets[name].items()
                    )
                    out += ["", f"Class offsets (pretraining windows): {values}"]
        out += ["", "## Usage", "", "```python"]
        out += ["import torch", "", "from braindecode_elm.models import ELM", ""]
        out += ['model = ELM.from_pretrained("<this folder or hub id>").eval()']
        out += ["# windows: (N, 20, T) in ELM units (volts x 1e5), e.g. from"]
        out += ["# braindecode_elm.dsp.preprocess(data, ch_names, sfreq, recipe='elm')"]
        out += ["with torch.no_grad():"]
        out += ["    embeddings = model.embed_eeg(windows)  # (N, 256), unit norm"]
        out += ["```"]
        if self.limitations:
            out += ["", "## Limitations and intended use", "", self.limitations.strip()]
        out += ["", "## Licence", "", str(self.license).strip()]
        out += ["", "## Citation", "", "```bibtex", self.citation.strip(), "```", ""]
        return "\n".join(out)


def _yaml_str(value: Any) -> str:
    # Quote every scalar: names like "EEGMAT (PhysioNet)" or "on" would otherwise
    # be read back as something else by YAML.
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def _subjects(subjects: Sequence[str | int]) -> str:
    ids = [str(s) for s in subjects]
    if len(ids) > 12:
        return f"{len(ids)} subjects: " + ", ".join(ids)
    return ", ".join(ids)


def write_model_card(
    directory: str | os.PathLike,
    card: ModelCard,
    *,
    model: Any | None = None,
) -> Path:
    """Write ``card`` as ``README.md`` into a bundle folder.

    Parameters
    ----------
    directory : str or path-like
        The bundle folder (created if needed).
    card : ModelCard
        What to write.
    model : ELM or None
        The bundle; when given and ``card.prompt_sets`` (``card.prompt_offsets``)
        is None, the card lists the bundle's own prompt sets (class offsets), so
        card and ``config.json`` agree.

    Returns
    -------
    pathlib.Path
        Path of the written ``README.md``.
    """
    if not isinstance(card, ModelCard):
        raise TypeError(f"card must be a ModelCard, got {type(card).__name__}")
    if card.prompt_sets is None and model is not None:
        card.prompt_sets = dict(getattr(model, "prompt_sets", {}) or {})
    if card.prompt_offsets is None and model is not None:
        card.prompt_offsets = dict(getattr(model, "prompt_offsets", {}) or {})
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MODEL_CARD_NAME
    path.write_text(card.render(), encoding="utf-8")
    return path


def read_model_card(directory: str | os.PathLike) -> tuple[dict[str, Any], str]:
    """Read a bundle's ``README.md``: front-matter fields and the Markdown body.

    Parameters
    ----------
    directory : str or path-like
        The bundle folder.

    Returns
    -------
    tuple of (dict, str)
        Front matter (``license``, ``tags``, ``datasets``...) and the body.

    Raises
    ------
    FileNotFoundError
        If the folder has no ``README.md``.
    """
    import yaml

    path = Path(directory) / MODEL_CARD_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: this bundle has no model card")
    text = path.read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n?(.*)$", text, flags=re.S)
    if not match:
        return {}, text
    meta = yaml.safe_load(match.group(1)) or {}
    return dict(meta), match.group(2)
