"""Code that runs in the driver process (the ``rsb-sweep`` command): one Ray session per
command (train, evaluate, decide), the Tune run and its callback, packing, progress, the
preflight data checks, the ``ab`` wave loop and the evaluation dispatch loop. What runs in Ray
workers is :mod:`rsb_sweep.worker`."""
