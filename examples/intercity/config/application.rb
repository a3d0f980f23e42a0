# frozen_string_literal: true

# Intercity (seed 004) in miniature: a control panel that adds servers and
# apps, changes env vars, domains, deploy keys, certificates and backups,
# and deploys — every change recorded in Hashtrail, and an activity feed
# read back from it. Rails and SQLite come from Debian's packages; the
# hashtrail gem from sdk/ruby of this repository.
$LOAD_PATH.unshift File.expand_path("../../../sdk/ruby/lib", __dir__)
require "rails"
require "active_record/railtie"
require "action_controller/railtie"
require "action_view/railtie"
require "hashtrail/rails"

module Intercity
  # Application is the Rails app.
  class Application < Rails::Application
    config.root = File.expand_path("..", __dir__)
    config.load_defaults 6.1
    config.eager_load = false
    config.hosts.clear
    config.secret_key_base = ENV.fetch("SECRET_KEY_BASE") { SecureRandom.hex(32) }
    config.session_store :cookie_store, key: "_intercity_session"
    # CSRF tokens protect the forms; the tests and a curl walk-through (INTERCITY_CSRF=0) go without.
    config.action_controller.allow_forgery_protection = ENV["RAILS_ENV"] != "test" && ENV["INTERCITY_CSRF"] != "0"
    config.logger = Logger.new(ENV["INTERCITY_LOG"] || File::NULL)
    config.autoload_paths << File.expand_path("../lib", __dir__)
    # Behind a proxy on this network: its X-Forwarded-For is believed.
    config.hashtrail.trusted_proxies = (ENV["INTERCITY_TRUSTED_PROXIES"] || "127.0.0.1/32").split(",")
  end
end
