"""seedctl: declarative plan/apply for Azure Backup offline seeding."""

__version__ = "0.1.0"
