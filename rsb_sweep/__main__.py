"""``python -m rsb_sweep``: the same as the ``rsb-sweep`` command."""

from rsb_sweep.cli import main

main()
