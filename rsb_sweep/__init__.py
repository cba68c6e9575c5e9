"""rsb-sweep: seed-variance studies and ablation grids of the RSB recipes, on Ray Tune.

Command line: ``rsb-sweep`` (:mod:`rsb_sweep.cli`). Library: build a
:class:`~rsb_sweep.spec.model.SweepSpec`, :func:`~rsb_sweep.spec.expand.expand` it, create an
:class:`~rsb_sweep.experiment.folder.Experiment` and :func:`~rsb_sweep.driver.sweep.run_experiment`;
:func:`~rsb_sweep.experiment.tables.write_tables` and :func:`~rsb_sweep.experiment.status.experiment_status`
work on any experiment folder from files alone.
"""

__version__ = "0.1.0"
