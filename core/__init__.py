"""The shared core of foerdersuche: everything both the writing (ingest) and the reading (search)
side of the index need, so a query can never be analysed differently from the passages it searches.

It imports nothing from ``ingest``, ``search``, ``api`` or ``evaluation``.
"""
