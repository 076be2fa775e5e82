"""Where engine work runs: the port, and the embedded in-process implementation."""
