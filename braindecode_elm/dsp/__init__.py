"""braindecode_elm.dsp."""
