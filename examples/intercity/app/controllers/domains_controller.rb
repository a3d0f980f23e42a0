# frozen_string_literal: true

# DomainsController adds and removes an app's domains.
class DomainsController < ApplicationController
  def create
    app.domains.create!(params.permit(:name))
    redirect_to app_path(app), status: :see_other
  end

  def destroy
    app.domains.find_by!(name: params[:id]).destroy!
    redirect_to app_path(app), status: :see_other
  end
end
