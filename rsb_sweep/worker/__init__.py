"""Code that runs in Ray workers, never in the driver: the pack trainable (:mod:`.trainable`, the
Tune trial process and every DDP rank), the pack runner (:mod:`.pack`) and the evaluation task
(:mod:`.evaluate`). What crosses the process boundary is plain data (``PackJob.to_dict``, the
evaluation keys); results come back through the trial folders and Ray's reports."""
