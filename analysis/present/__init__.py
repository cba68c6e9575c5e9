"""What a reader sees: paper-style tables (:mod:`.tables`), figures (:mod:`.figures`) and the
report's sentences about each table (:mod:`.conclusions`). Importing this package imports none
of them (no matplotlib)."""
