# frozen_string_literal: true

# Dokku stands for the Dokku commands Intercity runs on a server over SSH.
# Here it only checks that the server is reachable (online), so that a
# failed command rolls back the change it belonged to.
class Dokku
  # Unreachable: the server did not answer.
  class Unreachable < StandardError; end

  def initialize(server)
    @server = server
  end

  # run runs a dokku command on the server, e.g. run("apps:create", "shop").
  def run(*args)
    raise Unreachable, "server #{@server.name} (#{@server.ip}) is unreachable: dokku #{args.join(" ")}" if @server.status == "offline"

    true
  end
end
