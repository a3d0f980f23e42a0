"""Warehouse's routes (the subset this example serves)."""


def includeme(config):
    """Add the routes."""
    config.add_route("accounts.register", "/account/register/")
    config.add_route("accounts.login", "/account/login/")
    config.add_route("accounts.logout", "/account/logout/")
    config.add_route("manage.account.password", "/manage/account/password/")
    config.add_route("manage.account.totp", "/manage/account/totp/")
    config.add_route("manage.account.totp.delete", "/manage/account/totp/delete/")
    config.add_route("manage.account.token", "/manage/account/token/")
    config.add_route("manage.account.token.delete", "/manage/account/token/{token_id}/delete/")
    config.add_route("manage.account.security_history", "/manage/account/security-history/")
    config.add_route("manage.account.delete", "/manage/account/delete/")
    config.add_route("manage.projects", "/manage/projects/")
    config.add_route("manage.project.roles", "/manage/project/{name}/collaboration/")
    config.add_route("manage.project.role.delete", "/manage/project/{name}/collaboration/{username}/delete/")
    config.add_route("manage.project.release.yank", "/manage/project/{name}/release/{version}/yank/")
    config.add_route("manage.project.history", "/manage/project/{name}/history/")
    config.add_route("forklift.legacy.file_upload", "/legacy/")
    config.add_route("packaging.project.history", "/project/{name}/history/")
    config.add_route("packaging.project.history.token", "/project/{name}/history/token")
    config.add_route("admin.audit", "/admin/audit/")
