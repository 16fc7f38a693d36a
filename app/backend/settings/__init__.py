"""Settings per environment: backend.settings.dev, .staging and .prod all build on .base."""
