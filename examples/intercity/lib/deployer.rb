# frozen_string_literal: true

require "open3"

# Deployer deploys an app through `hashtrail run`, which runs the deploy
# command, streams its output, and records one app.deploy event with the
# command line, exit code, duration and captured stdout and stderr — with
# the values of secret-looking environment variables (DOKKU_DEPLOY_TOKEN)
# redacted wherever they appear.
class Deployer
  # Result is the deploy's exit code and combined output.
  Result = Struct.new(:exit_code, :output)

  SCRIPT = File.expand_path("../bin/dokku-deploy", __dir__)

  def initialize(app, user, revision)
    @app = app
    @user = user
    @revision = revision
  end

  # run deploys and returns the Result.
  def run
    argv = [ENV.fetch("HASHTRAIL_BIN", "hashtrail"), "run",
            "--tenant", ENV.fetch("HASHTRAIL_TENANT", "intercity"), "--action", "app.deploy",
            "--target", "app:#{@app.name}", "--target", "server:#{@app.server.name}",
            "--actor", "user:#{@user.id}", "--tag", "revision:#{@revision}",
            "--", SCRIPT, @app.name, @revision]
    # `hashtrail run` records from another process: send what this app has
    # queued first, so the log keeps the order things happened in.
    Hashtrail::Rails.client&.flush(timeout: 5)
    env = { "DOKKU_DEPLOY_TOKEN" => ENV.fetch("DOKKU_DEPLOY_TOKEN", "") } # HASHTRAIL_URL and _API_KEY are inherited
    output, status = Open3.capture2e(env, *argv)
    Result.new(status.exitstatus, output)
  end
end
