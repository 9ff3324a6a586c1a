"""Project checkov checks: loaded by checkov (in its own virtualenv) through --external-checks-dir.

Python checks (*.py) and graph checks (*.yaml) here encode rules specific to this platform.
These modules import checkov, so they are never imported from the project virtualenv.
"""
