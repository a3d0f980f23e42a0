# frozen_string_literal: true

# Domain is a host name routed to an app.
class Domain < ApplicationRecord
  include Hashtrail::Audited
  audited as: "domain", id: :name, parent: :app, category: :configuration, except: %i[app_id],
          actions: { create: "app.domain_add", update: "app.domain_change", destroy: "app.domain_remove" }

  belongs_to :app
  validates :name, presence: true, uniqueness: true, format: { with: /\A[a-z0-9.-]+\z/ }
end
