"""braindecode_elm.cli."""
