"""``python -m braindecode_elm.training`` (also the torchrun entry point)."""

from braindecode_elm.training.cli import main

raise SystemExit(main())
