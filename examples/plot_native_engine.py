"""
Check the native engine
=======================

Load the Rust extension and show which SIMD level it detected on this CPU.
"""

import numpy as np

import braindecode_elm
from braindecode_elm import _rust

print("braindecode-elm", braindecode_elm.__version__)
print("SIMD level:", _rust.simd_level())
x = np.ones((2, 5))
y, total = _rust.roundtrip(x)
print("zero-copy:", y is x, "sum:", total)
