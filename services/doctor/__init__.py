"""Pre-flight checks of a node's set-up: each check returns findings that say in plain words what
is wrong and how to fix it; `fengqiao doctor` prints them."""
