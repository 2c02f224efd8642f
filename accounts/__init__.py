"""User accounts, language preference and API tokens."""
