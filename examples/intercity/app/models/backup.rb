# frozen_string_literal: true

# Backup is an app's backup schedule.
class Backup < ApplicationRecord
  include Hashtrail::Audited
  audited as: "backup", parent: :app, category: :configuration, except: %i[app_id],
          actions: { create: "app.backup_update", update: "app.backup_update", destroy: "app.backup_remove" }

  belongs_to :app
  validates :schedule, inclusion: { in: %w[hourly daily weekly] }
  validates :keep, numericality: { greater_than: 0 }
end
