# frozen_string_literal: true

# ApplicationController requires a signed-in user everywhere but the
# sign-in page.
class ApplicationController < ActionController::Base
  before_action :require_login
  rescue_from ActiveRecord::RecordNotFound, with: -> { head :not_found }
  rescue_from ActiveRecord::RecordInvalid, with: ->(e) { render plain: e.message, status: :unprocessable_entity }
  rescue_from Dokku::Unreachable, with: ->(e) { render plain: e.message, status: :bad_gateway }

  private

  def current_user
    @current_user ||= User.find_by(id: session[:user_id])
  end
  helper_method :current_user

  def require_login
    redirect_to login_path unless current_user
  end

  def app
    @app ||= App.find_by!(name: params[:app_name])
  end

  def server
    @server ||= Server.find_by!(name: params[:server_name])
  end
end
