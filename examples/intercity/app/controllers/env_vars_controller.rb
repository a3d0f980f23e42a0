# frozen_string_literal: true

# EnvVarsController sets and unsets an app's environment variables (dokku
# config:set / config:unset).
class EnvVarsController < ApplicationController
  def create
    EnvVar.transaction do
      var = app.env_vars.create!(params.permit(:name, :value))
      Dokku.new(app.server).run("config:set", app.name, var.name)
    end
    redirect_to app_path(app), status: :see_other
  end

  def update
    var = app.env_vars.find_by!(name: params[:name])
    EnvVar.transaction do
      var.update!(value: params[:value])
      Dokku.new(app.server).run("config:set", app.name, var.name)
    end
    redirect_to app_path(app), status: :see_other
  end

  def destroy
    var = app.env_vars.find_by!(name: params[:name])
    EnvVar.transaction do
      var.destroy!
      Dokku.new(app.server).run("config:unset", app.name, var.name)
    end
    redirect_to app_path(app), status: :see_other
  end
end
