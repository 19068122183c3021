"""nhiaudit: audit the gap between a written AI-usage policy and what non-human identities can do."""

__version__ = "0.1.0"
