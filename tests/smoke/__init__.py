"""Smoke suite: a deployed release checked through its ingress and its cluster."""
