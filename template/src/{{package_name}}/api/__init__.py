"""HTTP routes: probes at the root, the versioned API under ``/api/v1``."""
