# frozen_string_literal: true

# ServersController adds, changes and removes servers.
class ServersController < ApplicationController
  def index
    render json: Server.order(:name).map { |s| s.slice(:name, :ip, :status) }
  end

  def create
    s = Server.create!(params.permit(:name, :ip))
    redirect_to servers_path, status: :see_other, notice: "Server #{s.name} added"
  end

  def update
    server.update!(params.permit(:ip, :status))
    redirect_to servers_path, status: :see_other
  end

  def destroy
    if server.destroy
      redirect_to servers_path, status: :see_other
    else
      render plain: server.errors.full_messages.join(", "), status: :conflict
    end
  end

  private

  # server is the server of a member route (/servers/:name).
  def server
    @server ||= Server.find_by!(name: params[:name])
  end
end
