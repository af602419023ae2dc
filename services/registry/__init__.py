"""Household-registry window proxy requests (户籍窗口代办), DOMAIN.md flow 3."""
