"""Fixtures shared by every test layer live in tests/support; layers have their own conftest."""
