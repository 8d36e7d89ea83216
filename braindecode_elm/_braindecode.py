"""Braindecode's classes, imported without its import-time deprecation noise.

Importing Braindecode's model zoo builds an MNE montage under a name that MNE
1.13 deprecates for 1.14 (its EEGPT model); this package pins ``mne<1.14`` and
never uses EEGPT, yet every ``import braindecode_elm.models`` printed two
``FutureWarning`` lines a user can do nothing about. Only that warning, and only
during this import, is silenced.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message=r"Montage name 'standard_1020' is deprecated",
        category=FutureWarning,
    )
    from braindecode.datasets import BaseConcatDataset, RawDataset
    from braindecode.models.base import EEGModuleMixin

__all__ = ["BaseConcatDataset", "EEGModuleMixin", "RawDataset"]
