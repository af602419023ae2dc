"""The semiannual report (半年报): each side counts from its own store, then both cosign."""
