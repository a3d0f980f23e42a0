"""Organisations, projects, environments, roles and groups: the audited domain."""
