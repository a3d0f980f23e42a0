# frozen_string_literal: true

# DeployKeysController adds and removes the SSH keys that may push to a
# server.
class DeployKeysController < ApplicationController
  def create
    key = server.deploy_keys.create!(params.permit(:name, :public_key))
    redirect_to servers_path, status: :see_other, notice: "Deploy key #{key.fingerprint} added"
  end

  def destroy
    server.deploy_keys.find(params[:id]).destroy!
    redirect_to servers_path, status: :see_other
  end
end
