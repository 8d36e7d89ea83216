"""braindecode_elm.data."""
