"""Inventory API: products and an append-only stock movement ledger."""

__version__ = "0.1.0"
