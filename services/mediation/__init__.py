"""Linked mediation (矛盾联调): one dispute worked jointly by two jurisdictions."""
