"""The LLM port and its adapters: the service talks to models only through ``LLM``."""
