"""The report: its sections (:mod:`.sections`, each a function returning its table, sentences
and JSON), the notebook's cells (:mod:`.cells`), what the cells write and show
(:mod:`.output`), and the executed, rendered notebook (:mod:`.execution`, ``make_report``)."""
