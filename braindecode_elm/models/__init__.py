"""braindecode_elm.models."""
