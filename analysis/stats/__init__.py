"""Array statistics: values in, named results out; no DataFrame grouping, no matplotlib.

The Gaussian fit, outlier rule and t CI of a mean (:mod:`.gaussian`), expected best-of-n
(:mod:`.expected_max`), bootstrap CIs (:mod:`.bootstrap`), the rank tests (:mod:`.rank`) and
two-sample comparison (:mod:`.comparison`), the paired test (:mod:`.paired`), sample sizes
(:mod:`.sample_size`), the anytime-valid sequential comparison (:mod:`.sequential`), variance
components (:mod:`.variance`), per-image test-set noise (:mod:`.image_noise`), the shared
input checks (:mod:`.arrays`) and the seeded simulations that check the decisions
(:mod:`.calibration`). Importing this package imports none of them.
"""
