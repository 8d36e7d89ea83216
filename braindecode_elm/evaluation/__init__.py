"""braindecode_elm.evaluation."""
