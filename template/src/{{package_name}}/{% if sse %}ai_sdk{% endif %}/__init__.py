"""The Vercel AI SDK's chat protocol: ``POST /api/v1/chat`` answers ``useChat`` directly.

The SDK's default chat transport posts the conversation as UI messages and
reads the answer as a UI message stream (protocol v1). Authentication, quotas,
stream caps, draining and disconnect cancellation are the service's own, as
on every streaming route.
"""
