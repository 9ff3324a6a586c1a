"""Inventory API: products and an append-only stock movement ledger."""
