"""The report: its sections (:mod:`.sections`, each a function returning its table, sentences
and JSON) and the executed notebook that shows them (:mod:`.notebook`, ``make_report``)."""
