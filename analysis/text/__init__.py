"""Text that statistics return: how a number is written and the verdict sentences.

The lowest layer beside :mod:`analysis.contract`: it imports only :mod:`analysis.contract` and
:mod:`analysis.errors`, so the array statistics, the DataFrame-level ones and the driver can all
word their results with it (no pandas grouping, no matplotlib).
"""
