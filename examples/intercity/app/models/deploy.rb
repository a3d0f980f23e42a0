# frozen_string_literal: true

# Deploy is one deploy of an app; its command output and exit code are in
# Hashtrail (app.deploy, recorded by `hashtrail run`).
class Deploy < ApplicationRecord
  belongs_to :app
  belongs_to :user, optional: true
end
