"""Unit tests of the smoke suite's own logic; they need no cluster."""
