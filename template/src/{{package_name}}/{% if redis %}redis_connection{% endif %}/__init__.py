"""Redis: the one client that rate limits, refresh tokens and chat fan-out share."""
