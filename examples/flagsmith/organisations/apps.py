"""App config: wires the Hashtrail model auditing once the models are loaded."""
from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    """Registers hashtrail.django.audit_model for the audited models."""

    name = "organisations"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from . import audit

        audit.register()
