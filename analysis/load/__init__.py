"""Reading an experiment's tables: results, history and evaluations (:mod:`.io`) and the
per-image predictions (:mod:`.predictions`). Beside the contract, below the statistics of
groups: it checks what it reads against :mod:`analysis.contract` and returns DataFrames."""
