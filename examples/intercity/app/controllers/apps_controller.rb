# frozen_string_literal: true

# AppsController creates and removes apps. Each change and its dokku
# command are one transaction: when the server cannot be reached the app is
# not created, and nothing is recorded.
class AppsController < ApplicationController
  def index
    render json: App.includes(:server).order(:name).map { |a| { name: a.name, server: a.server.name } }
  end

  def show
    render json: {
      name: app.name, server: app.server.name, domains: app.domains.pluck(:name),
      env_vars: app.env_vars.pluck(:name), backup: app.backup&.slice(:enabled, :schedule, :keep),
      certificate: app.certificate&.slice(:letsencrypt, :expires_at)
    }
  end

  def create
    server = Server.find_by!(name: params[:server])
    created = App.transaction do
      a = App.create!(name: params[:name], server: server)
      a.create_backup!(enabled: false)
      Dokku.new(server).run("apps:create", a.name)
      a
    end
    redirect_to app_path(created), status: :see_other
  end

  def destroy
    App.transaction do
      app.destroy!
      Dokku.new(app.server).run("apps:destroy", app.name, "--force")
    end
    redirect_to apps_path, status: :see_other
  end

  private

  # app is the app of a member route (/apps/:name).
  def app
    @app ||= App.find_by!(name: params[:name])
  end
end
