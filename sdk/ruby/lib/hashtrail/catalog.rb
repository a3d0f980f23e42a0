# frozen_string_literal: true

module Hashtrail
  # Catalog holds the standard event catalog (GET /v1/catalog, version 2)
  # and one constructor per action, as the Go SDK's client/catalog.go: each
  # returns a new event hash with the catalog's action, category, default
  # severity and outcome and the targets it is about; change any field
  # before recording it. The actor is left empty (the request context fills
  # it) except for sign-in and sign-out, which take it.
  module Catalog
    # VERSION is the standard catalog version these constructors follow.
    VERSION = 2

    # ACTIONS maps each action to [category, severity, outcome].
    ACTIONS = {
      "user.login" => %w[authentication info success],
      "user.login_failed" => %w[authentication medium failure],
      "user.logout" => %w[authentication info success],
      "user.mfa_enable" => %w[authentication low success],
      "user.mfa_disable" => %w[authentication medium success],
      "user.password_change" => %w[authentication low success],
      "user.password_reset" => %w[authentication medium success],
      "user.create" => %w[account low success],
      "user.update" => %w[account info success],
      "user.delete" => %w[account medium success],
      "user.email_change" => %w[account medium success],
      "role.create" => %w[authorization low success],
      "role.delete" => %w[authorization medium success],
      "role.assign" => %w[authorization medium success],
      "role.unassign" => %w[authorization low success],
      "role.permission_grant" => %w[authorization medium success],
      "role.permission_revoke" => %w[authorization low success],
      "group.create" => %w[authorization low success],
      "group.delete" => %w[authorization medium success],
      "member.add" => %w[authorization low success],
      "member.remove" => %w[authorization low success],
      "api_key.create" => %w[security medium success],
      "api_key.revoke" => %w[security low success],
      "api_key.use" => %w[security info success],
      "access.request" => %w[access info success],
      "access.grant" => %w[access medium success],
      "access.deny" => %w[access medium failure],
      "project.create" => %w[resource info success],
      "project.update" => %w[resource info success],
      "project.delete" => %w[resource medium success],
      "app.env_var_add" => %w[configuration low success],
      "app.env_var_change" => %w[configuration low success],
      "app.env_var_remove" => %w[configuration low success],
      "settings.update" => %w[configuration low success],
      "app.deploy" => %w[resource low success],
      "command.run" => %w[system low success],
      "data.export" => %w[data medium success],
      "data.read" => %w[data info success]
    }.freeze

    # RESERVED are recorded only by Hashtrail itself: no constructor.
    RESERVED = %w[system.subject_erased system.retention_purge].freeze

    # Why a sign-in failed (the event's "error").
    INVALID_CREDENTIALS = "invalid_credentials"
    UNKNOWN_USER = "unknown_user"
    MFA_FAILED = "mfa_failed"
    ACCOUNT_LOCKED = "account_locked"
    ACCOUNT_DISABLED = "account_disabled"
    EXPIRED_CREDENTIALS = "expired_credentials"
    RATE_LIMITED = "rate_limited"
    PROVIDER_ERROR = "provider_error"

    # CONSTRUCTORS maps each action to the constructor that makes it.
    CONSTRUCTORS = {
      "user.login" => :login_succeeded, "user.login_failed" => :login_failed, "user.logout" => :logged_out,
      "user.mfa_enable" => :mfa_enabled, "user.mfa_disable" => :mfa_disabled,
      "user.password_change" => :password_changed, "user.password_reset" => :password_reset,
      "user.create" => :user_created, "user.update" => :user_updated, "user.delete" => :user_deleted,
      "user.email_change" => :email_changed, "role.create" => :role_created, "role.delete" => :role_deleted,
      "role.assign" => :role_assigned, "role.unassign" => :role_unassigned,
      "role.permission_grant" => :permission_granted, "role.permission_revoke" => :permission_revoked,
      "group.create" => :group_created, "group.delete" => :group_deleted, "member.add" => :member_added,
      "member.remove" => :member_removed, "api_key.create" => :api_key_created,
      "api_key.revoke" => :api_key_revoked, "api_key.use" => :api_key_used,
      "access.request" => :access_requested, "access.grant" => :access_granted, "access.deny" => :access_denied,
      "project.create" => :project_created, "project.update" => :project_updated,
      "project.delete" => :project_deleted, "app.env_var_add" => :env_var_added,
      "app.env_var_change" => :env_var_changed, "app.env_var_remove" => :env_var_removed,
      "settings.update" => :settings_updated, "app.deploy" => :deployed, "command.run" => :command_run,
      "data.export" => :data_exported, "data.read" => :data_read
    }.freeze

    module_function

    # standard returns a new event for a catalog action with its defaults.
    def standard(action, *targets)
      category, severity, outcome = ACTIONS.fetch(action) { raise ArgumentError, "#{action} is not in the standard catalog" }
      ev = { "action" => action, "category" => category, "severity" => severity, "outcome" => outcome }
      ev["targets"] = targets.map { |t| Hashtrail.stringify(t) } unless targets.empty?
      ev
    end

    # Actors, targets and how a user signed in.
    def user(id, **more) = { "type" => "user", "id" => id.to_s }.merge(Hashtrail.stringify(more))
    def user_ref(id) = { "type" => "user", "id" => id.to_s }
    def group_ref(id) = { "type" => "group", "id" => id.to_s }
    def ref(type, id, name = nil) = { "type" => type.to_s, "id" => id.to_s, "name" => name }.compact
    def password = { "method" => "password", "mfa" => false }
    def password_and_mfa(factor) = { "method" => "password+#{factor}", "mfa" => true }
    def oauth(provider) = { "method" => "oauth:#{provider}", "provider" => provider }
    def saml(idp) = { "method" => "saml", "provider" => idp }
    def api_token(credential_id) = { "method" => "api_token", "credential_id" => credential_id.to_s }
    def passkey = { "method" => "webauthn", "mfa" => true }

    def sign_in(actor, auth)
      return nil if actor.nil?

      a = Hashtrail.stringify(actor)
      a["auth"] = Hashtrail.stringify(auth) if auth
      a
    end

    def meta(**kv)
      m = kv.reject { |_, v| v.nil? || v == "" }.transform_keys(&:to_s)
      m.empty? ? nil : m
    end

    def with(ev, **fields)
      fields.each { |k, v| ev[k.to_s] = v unless v.nil? }
      ev
    end

    # Sign-in and sign-out: they take the actor and how it signed in.
    def login_succeeded(actor, auth = nil) = with(standard("user.login"), actor: sign_in(actor, auth))
    def login_failed(actor, auth, reason) = with(standard("user.login_failed"), actor: sign_in(actor, auth), error: reason.to_s)
    def logged_out(actor) = with(standard("user.logout"), actor: sign_in(actor, nil))

    # Secrets never travel: a password change is a redacted change.
    def password_changed(user) = with(standard("user.password_change", user_ref(user)), changes: [{ "field" => "password", "redacted" => true }])
    def password_reset(user) = with(standard("user.password_reset", user_ref(user)), changes: [{ "field" => "password", "redacted" => true }])
    def mfa_enabled(user, factor) = with(standard("user.mfa_enable", user_ref(user)), metadata: meta(factor: factor))
    def mfa_disabled(user, factor) = with(standard("user.mfa_disable", user_ref(user)), metadata: meta(factor: factor))
    def user_created(user) = standard("user.create", user_ref(user))
    def user_updated(user, changes = []) = with(standard("user.update", user_ref(user)), changes: changes.empty? ? nil : changes)
    def user_deleted(user) = standard("user.delete", user_ref(user))
    def email_changed(user, old_email, new_email) = with(standard("user.email_change", user_ref(user)), changes: [{ "field" => "email", "old" => old_email, "new" => new_email }])

    def role_created(role) = standard("role.create", ref("role", role))
    def role_deleted(role) = standard("role.delete", ref("role", role))
    def role_assigned(role, member) = standard("role.assign", ref("role", role), member)
    def role_unassigned(role, member) = standard("role.unassign", ref("role", role), member)
    def permission_granted(role, permission) = standard("role.permission_grant", ref("role", role), ref("permission", permission))
    def permission_revoked(role, permission) = standard("role.permission_revoke", ref("role", role), ref("permission", permission))
    def group_created(group) = standard("group.create", group_ref(group))
    def group_deleted(group) = standard("group.delete", group_ref(group))
    def member_added(group, member) = standard("member.add", group_ref(group), member)
    def member_removed(group, member) = standard("member.remove", group_ref(group), member)

    def api_key_created(key_id, name = nil) = standard("api_key.create", ref("api_key", key_id, name))
    def api_key_revoked(key_id) = standard("api_key.revoke", ref("api_key", key_id))

    # api_key_used makes the key the actor.
    def api_key_used(key_id)
      with(standard("api_key.use", ref("api_key", key_id)),
           actor: { "type" => "api_key", "id" => key_id.to_s, "auth" => api_token(key_id) })
    end

    def access_requested(resource) = standard("access.request", resource)
    def access_granted(resource, grantee) = standard("access.grant", resource, grantee)
    def access_denied(resource, reason) = with(standard("access.deny", resource), error: reason)

    def project_created(project) = standard("project.create", ref("project", project))
    def project_updated(project, changes = []) = with(standard("project.update", ref("project", project)), changes: changes.empty? ? nil : changes)
    def project_deleted(project) = standard("project.delete", ref("project", project))

    # Environment variables: the value is never recorded, only its name.
    def env_var_added(app, name) = env_var("app.env_var_add", app, name)
    def env_var_changed(app, name) = env_var("app.env_var_change", app, name)
    def env_var_removed(app, name) = env_var("app.env_var_remove", app, name)

    def env_var(action, app, name)
      with(standard(action, ref("app", app), ref("env_var", name)), changes: [{ "field" => name.to_s, "redacted" => true }])
    end

    def settings_updated(changes = []) = with(standard("settings.update"), changes: changes.empty? ? nil : changes)
    def deployed(app, version = nil) = with(standard("app.deploy", ref("app", app)), metadata: meta(version: version))

    # command_run records a command with its exit code and output; a
    # negative exit code (killed, unknown) makes the outcome unknown.
    def command_run(command, exit_code, stdout = "", stderr = "")
      ev = standard("command.run")
      out = { "command" => command, "stdout" => stdout, "stderr" => stderr }.reject { |_, v| v.nil? || v == "" }
      if exit_code.negative?
        ev["outcome"] = "unknown"
      else
        out["exit_code"] = exit_code
        ev["outcome"] = "failure" unless exit_code.zero?
      end
      ev["output"] = out
      ev
    end

    def data_exported(resource, format = nil) = with(standard("data.export", resource), metadata: meta(format: format))
    def data_read(resource) = standard("data.read", resource)
  end
end
