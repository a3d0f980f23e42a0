# frozen_string_literal: true

# EnvVar is one environment variable of an app. Its value is never
# recorded: the change says which variable changed, redacted.
class EnvVar < ApplicationRecord
  include Hashtrail::Audited
  audited as: "env_var", id: :name, parent: :app, secret: [:value], except: %i[app_id],
          actions: { create: "app.env_var_add", update: "app.env_var_change", destroy: "app.env_var_remove" }

  belongs_to :app
  validates :name, presence: true, format: { with: /\A[A-Z_][A-Z0-9_]*\z/ }, uniqueness: { scope: :app_id }

  def to_param = name
end
