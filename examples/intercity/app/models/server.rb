# frozen_string_literal: true

# Server is a machine running Dokku that Intercity deploys apps to.
class Server < ApplicationRecord
  include Hashtrail::Audited
  audited as: "server", id: :name, category: :resource

  has_many :apps, dependent: :restrict_with_error
  has_many :deploy_keys, dependent: :destroy
  validates :name, presence: true, uniqueness: true, format: { with: /\A[a-z0-9][a-z0-9.-]*\z/ }
  validates :ip, presence: true
  validates :status, inclusion: { in: %w[online offline] }

  def to_param = name
end
