# frozen_string_literal: true

# SessionsController signs users in and out, and records each attempt.
class SessionsController < ApplicationController
  skip_before_action :require_login

  def new
    render plain: "Sign in with POST /login (email, password)"
  end

  def create
    user = User.find_by(email: params[:email].to_s.downcase)
    if user&.authenticate(params[:password])
      reset_session
      session[:user_id] = user.id
      Hashtrail::Rails.login(user)
      redirect_to root_path
    else
      Hashtrail::Rails.login_failed(user || params[:email].to_s.downcase,
                                    user ? Hashtrail::Catalog::INVALID_CREDENTIALS : Hashtrail::Catalog::UNKNOWN_USER)
      render plain: "Wrong email or password", status: :unauthorized
    end
  end

  def destroy
    Hashtrail::Rails.logout(current_user) if current_user
    reset_session
    redirect_to login_path
  end
end
