"""braindecode_elm.training."""
