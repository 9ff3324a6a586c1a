"""The delivery pipeline: `python -m pipelines STAGE`, the same stages for Jenkins and laptops."""
