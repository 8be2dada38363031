"""JWT bearer authentication: issue, refresh and verify tokens.

``tokens`` signs and checks JWTs, ``bearer`` is the authenticator the
middleware runs on every ``/api/v1`` request and WebSocket handshake,
``passwords`` checks logins against ``APP_AUTH_USERS``, ``refresh`` rotates
refresh tokens, ``routes`` exposes ``/api/v1/auth/*`` and ``commands`` adds the
``hash-password`` and ``mint-token`` CLI commands.
"""
