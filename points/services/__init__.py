"""Writes to the points ledger. `ledger` is the only module that touches balances and lots."""
