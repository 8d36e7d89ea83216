"""``python -m braindecode_elm.cli`` = ``elm``."""

import sys

from . import main

sys.exit(main())
