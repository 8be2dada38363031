"""OpenAI's chat-completions API at ``/v1``, so OpenAI's own clients work unchanged.

Set ``base_url="http://host:8000/v1"`` in the official SDKs (or LangChain's
``ChatOpenAI``, LlamaIndex, Open WebUI) and send an API key from
``APP_API_KEYS`` as the key. Requests pass the same authentication, quotas,
stream caps and draining as the service's own routes; only the wire format
and the error shape are OpenAI's.
"""

OPENAI_PREFIX = "/v1"
