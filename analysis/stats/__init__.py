"""Array statistics: values in, named results out; no DataFrame grouping, no matplotlib.

Gaussian fit and outlier rule (:mod:`.gaussian`), bootstrap CIs (:mod:`.bootstrap`), the
two-sample comparison (:mod:`.comparison`), sample sizes (:mod:`.sample_size`), the
anytime-valid sequential comparison (:mod:`.sequential`), variance components
(:mod:`.variance`), per-image test-set noise (:mod:`.image_noise`) and the seeded
simulations that check the decisions (:mod:`.calibration`). Importing this package imports
none of them.
"""
