"""Flagsmith's shapes, reduced: organisations own projects (with environments),
roles and permission groups; users belong to organisations."""

from django.conf import settings
from django.db import models

#: Permissions a role or group can hold (a subset of Flagsmith's).
PERMISSIONS = (
    "MANAGE_USERS",
    "CREATE_PROJECT",
    "DELETE_PROJECT",
    "VIEW_PROJECT",
    "CREATE_ENVIRONMENT",
    "VIEW_AUDIT_LOG",
    "MANAGE_FEATURES",
)


class Organisation(models.Model):
    """A customer organisation: one Hashtrail tenant (``org-<id>``)."""

    name = models.CharField(max_length=200)

    @property
    def tenant(self) -> str:
        return "org-%d" % self.pk

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's membership in an organisation, with the organisation role."""

    ADMIN, USER = "ADMIN", "USER"
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=[(ADMIN, "Admin"), (USER, "User")], default=USER)

    class Meta:
        unique_together = [("user", "organisation")]


class Profile(models.Model):
    """Two-factor settings of a user (TOTP)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    totp_secret = models.CharField(max_length=64, blank=True, default="")
    mfa_enabled = models.BooleanField(default=False)


class Project(models.Model):
    """A project of an organisation; names are unique within the organisation."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=200)

    class Meta:
        unique_together = [("organisation", "name")]

    def __str__(self) -> str:
        return self.name


class Environment(models.Model):
    """An environment (Development, Production...) of a project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="environments")
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class PermissionGroup(models.Model):
    """A group of users (Flagsmith's UserPermissionGroup) with permissions of its own."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=200)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="permission_groups", blank=True)
    permissions = models.JSONField(default=list)

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    """An RBAC role of an organisation: permissions, given to users and groups."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(max_length=200)
    permissions = models.JSONField(default=list)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="roles", blank=True)
    groups = models.ManyToManyField(PermissionGroup, related_name="roles", blank=True)

    class Meta:
        unique_together = [("organisation", "name")]

    def __str__(self) -> str:
        return self.name


class UserProjectPermission(models.Model):
    """Permissions given to one user directly on one project."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_permissions")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="user_permissions")
    permissions = models.JSONField(default=list)

    class Meta:
        unique_together = [("user", "project")]
