"""The experiment folder on disk, readable from files alone (no Ray, no torch): the manifest and
the driver's lock (:mod:`.folder`), the trial folders (:mod:`.store`), the builders of the
results, history and evaluations tables (:mod:`.results`, :mod:`.evaluations`) and their
atomic writers (:mod:`.tables`), and ``status`` (:mod:`.status`). The driver, the workers and
the read-only commands (``status``, ``results``) all use it."""
