"""Policy as code for iac/: checkov checks plus python-hcl2 rules, with dated waivers.

Run the gate with `python -m policies --iac iac --reports DIR`; see policies/README.md.
"""
