"""Run logging: CSV metrics (TensorBoard when installed), config and versions."""

from __future__ import annotations

import csv
import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

__all__ = ["MetricsLogger", "dump_run_info", "package_versions"]

COLUMNS = [
    "kind",
    "step",
    "epoch",
    "loss",
    "lr",
    "crops_per_s",
    "val_r1",
    "val_chance",
    "val_n",
    "elapsed_s",
]


class MetricsLogger:
    """Append rows to ``metrics.csv`` (and TensorBoard scalars when available).

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.
    enabled : bool
        False on non-zero ranks (nothing written).
    truncate_after_step : int or None
        When resuming, drop rows logged after this step by the interrupted run.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        enabled: bool = True,
        truncate_after_step: int | None = None,
    ) -> None:
        self.path = Path(run_dir) / "metrics.csv"
        self.enabled = enabled
        self._tb = None
        if not enabled:
            return
        rows: list[dict[str, str]] = []
        if truncate_after_step is not None and self.path.is_file():
            # Rows after the checkpoint were logged by the interrupted run and will
            # be logged again.
            with open(self.path, newline="") as fh:
                rows = [
                    r
                    for r in csv.DictReader(fh)
                    if int(r["step"]) <= truncate_after_step
                ]
        with open(self.path, "w", newline="") as fh:
            w = csv.DictWriter(fh, COLUMNS)
            w.writeheader()
            w.writerows(rows)
        try:  # optional dependency
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(Path(run_dir) / "tensorboard"))
        except Exception:  # noqa: BLE001 - tensorboard missing or broken: CSV only
            self._tb = None

    def log(self, kind: str, **values: Any) -> None:
        """Write one row; ``kind`` is ``step`` or ``epoch``."""
        if not self.enabled:
            return
        row = {k: "" for k in COLUMNS}
        row["kind"] = kind
        for k, v in values.items():
            if k not in row:
                raise KeyError(f"unknown metric column {k!r}")
            row[k] = f"{v:.6g}" if isinstance(v, float) else v
        with open(self.path, "a", newline="") as fh:
            csv.DictWriter(fh, COLUMNS).writerow(row)
        if self._tb is not None:
            step = int(values.get("step", 0))
            for k, v in values.items():
                if k not in ("step", "epoch") and isinstance(v, (int, float)):
                    self._tb.add_scalar(f"{kind}/{k}", v, step)

    def close(self) -> None:
        """Flush TensorBoard."""
        if self._tb is not None:
            self._tb.close()


def package_versions() -> dict[str, str]:
    """Versions of Python, the platform and the packages a run depends on."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in (
        "braindecode-elm",
        "torch",
        "numpy",
        "safetensors",
        "transformers",
        "braindecode",
        "mne",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    try:
        import torch

        out["cuda"] = str(torch.version.cuda)
        if torch.cuda.is_available():
            out["gpu"] = torch.cuda.get_device_name()
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    return out


def dump_run_info(run_dir: Path, config: dict[str, Any], extra: dict[str, Any]) -> None:
    """Write ``config.yaml`` and ``versions.json`` next to the checkpoints."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    info = {"versions": package_versions(), **extra}
    (run_dir / "versions.json").write_text(json.dumps(info, indent=1, default=str))
