"""Smoke suite (issue 8): a deployed release checked through its ingress and its cluster."""
