"""``rsb-sweep``: seed studies and ablation grids of the RSB recipes on Ray Tune.

Commands: ``seeds``, ``grid``, ``run`` (a YAML sweep), ``ab`` (seeds until a comparison is decided), ``resume``,
``evaluate`` (trained models at other test-time settings), ``status``, ``results``, ``report``, ``fields``. Heavy imports (torch, Ray, the trainer) happen inside the commands that need
them, so that ``status`` answers quickly and never starts Ray. Every command body runs in
:func:`rsb_sweep.cli.exitstatus.run_command`, which gives the exit status (documented there and
in each command's ``--help``); every path typed is made absolute here, before anything is
dispatched (:mod:`rsb_sweep.spec.paths`).
"""

from rsb_sweep.cli import launch, manage  # noqa: F401  (registers the commands on the group)
from rsb_sweep.cli import race  # noqa: F401  (registers `race`)
from rsb_sweep.cli.app import main
from rsb_sweep.cli import paper  # noqa: F401,E402  (rsb-sweep paper)
from rsb_sweep.cli import transfer  # noqa: F401,E402  (rsb-sweep transfer: Table 5)

__all__ = ["main"]
