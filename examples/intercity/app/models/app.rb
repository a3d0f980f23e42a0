# frozen_string_literal: true

# App is a Dokku app on a server, with its env vars, domains, certificate
# and backups.
class App < ApplicationRecord
  include Hashtrail::Audited
  audited as: "app", id: :name, parent: :server, category: :resource, except: %i[server_id]

  belongs_to :server
  has_many :env_vars, dependent: :destroy
  has_many :domains, dependent: :destroy
  has_one :certificate, dependent: :destroy
  has_one :backup, dependent: :destroy
  has_many :deploys, dependent: :destroy
  validates :name, presence: true, uniqueness: true, format: { with: /\A[a-z0-9][a-z0-9-]*\z/ }

  def to_param = name
end
