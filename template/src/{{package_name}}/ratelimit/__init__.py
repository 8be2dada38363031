"""Rate limiting: request quotas per caller and caps on concurrent long-lived work."""
