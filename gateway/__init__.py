"""The node's outer shell: the HTTP API and the `fengqiao` command line. It only calls services/."""
