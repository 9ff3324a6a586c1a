"""Chart tests: render with the real Helm engine and assert on the objects it produces."""
