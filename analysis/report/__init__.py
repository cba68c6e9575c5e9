"""The report: each section a typed result (:mod:`.section`; the sections in :mod:`.sections` and
:mod:`.sections_compare`), the report's order as one list of steps (:mod:`.steps`, also
``build_report``), the notebook's cells built from it (:mod:`.cells`), what the cells write and
show (:mod:`.output`), and the executed, rendered notebook (:mod:`.execution`, ``make_report``)."""
