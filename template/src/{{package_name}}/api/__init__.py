"""HTTP routes: probes at the root, the versioned API under ``API_PREFIX``."""

# The versioned API's mount point; middleware scopes itself to it as well.
API_PREFIX = "/api/v1"
