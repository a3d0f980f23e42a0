# frozen_string_literal: true

require "digest"

# DeployKey is an SSH public key allowed to push to a server: a security
# event when added or removed.
class DeployKey < ApplicationRecord
  include Hashtrail::Audited
  audited as: "deploy_key", parent: :server, category: :security, only: %i[name fingerprint],
          actions: { create: "server.deploy_key_add", update: "server.deploy_key_update", destroy: "server.deploy_key_remove" }

  belongs_to :server
  validates :name, :public_key, presence: true
  before_validation { self.fingerprint = "SHA256:#{Digest::SHA256.base64digest(public_key.to_s.split[1].to_s.unpack1("m"))}" }
end
