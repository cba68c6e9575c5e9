"""What a reader sees: paper-style tables (:mod:`.markup`, :mod:`.tables`, :mod:`.tables_paired`),
figures (:mod:`.style`, :mod:`.figures`, :mod:`.figures_grid`, :mod:`.figures_paired`,
:mod:`.figures_sequential`) and the report's sentences about each table (:mod:`.conclusions`,
:mod:`.conclusions_compare`). Importing this package imports none of them (no matplotlib)."""
