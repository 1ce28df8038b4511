"""Backup and restore: the database and the model artifacts in one encrypted file."""

from finai.backup.archive import Manifest, create_backup, restore_backup

__all__ = ["Manifest", "create_backup", "restore_backup"]
