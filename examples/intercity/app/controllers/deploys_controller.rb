# frozen_string_literal: true

# DeploysController deploys a revision of an app and shows the output.
class DeploysController < ApplicationController
  def create
    revision = params.require(:revision)
    result = Deployer.new(app, current_user, revision).run
    app.deploys.create!(user: current_user, revision: revision, exit_code: result.exit_code)
    render plain: result.output, status: result.exit_code.zero? ? :created : :unprocessable_entity
  end
end
