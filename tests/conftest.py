"""Fixtures shared by every test folder. Folder-specific fixtures live in that folder's conftest."""
