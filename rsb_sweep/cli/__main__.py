"""``python -m rsb_sweep.cli``: the same as ``rsb-sweep``."""

from rsb_sweep.cli import main

main()
