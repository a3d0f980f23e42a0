# frozen_string_literal: true

# BackupsController changes an app's backup schedule.
class BackupsController < ApplicationController
  def update
    (app.backup || app.build_backup).update!(params.permit(:enabled, :schedule, :keep))
    redirect_to app_path(app), status: :see_other
  end
end
