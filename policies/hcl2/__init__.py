"""A small rule engine over python-hcl2 parse trees, for rules checkov cannot express well."""
