# frozen_string_literal: true

# Intercity's acceptance test: the team drives the app over HTTP as they
# would (sign in, add a server and an app, change env vars, domains, deploy
# keys, the certificate and backups, deploy, remove things, sign out)
# against a real Hashtrail server, and every change is checked back
# through Hashtrail's query API and the activity feed.
require "json"
require "net/http"
require "securerandom"
require "tmpdir"

abort "HASHTRAIL_URL is unset: run examples/intercity/test (it starts a server)" unless ENV["HASHTRAIL_URL"]

# Admin is what the Intercity operator does once: a tenant, an ingest key
# for the app and a read key for the activity feed.
module Admin
  module_function

  def call(method, path, body = nil)
    uri = URI(ENV.fetch("HASHTRAIL_URL") + path)
    req = Net::HTTPGenericRequest.new(method, !body.nil?, true, uri.request_uri)
    req["Authorization"] = "Bearer #{ENV.fetch("HASHTRAIL_ADMIN_KEY")}"
    req["Content-Type"] = "application/json"
    req.body = JSON.generate(body) if body
    res = Net::HTTP.start(uri.host, uri.port) { |h| h.request(req) }
    raise "#{method} #{path}: #{res.code} #{res.body}" unless res.code.start_with?("2")

    JSON.parse(res.body)
  end
end

tenant = "intercity-#{SecureRandom.hex(4)}"
Admin.call("POST", "/v1/tenants", { id: tenant })
ENV["HASHTRAIL_TENANT"] = tenant
ENV["HASHTRAIL_API_KEY"] = Admin.call("POST", "/v1/tenants/#{tenant}/keys", { role: "ingest", name: "intercity" })["secret"]
ENV["HASHTRAIL_READ_KEY"] = Admin.call("POST", "/v1/tenants/#{tenant}/keys", { role: "read", name: "feed" })["secret"]
ENV["DOKKU_DEPLOY_TOKEN"] = "dkt_#{SecureRandom.hex(12)}"
ENV["RAILS_ENV"] = "test"
ENV["INTERCITY_DB"] = File.join(Dir.mktmpdir("intercity"), "test.sqlite3")

require_relative "../config/environment"
require "rails/test_help"

ActiveRecord::Migration.verbose = false
load File.expand_path("../db/schema.rb", __dir__)

# The scenario of seed 004, end to end.
class IntercityTest < ActionDispatch::IntegrationTest
  SECRET_DB_URL = "postgres://shop:s3cr3t-hunter2@db.internal/shop"
  PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq-very-secret\n-----END PRIVATE KEY-----"
  PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ2ZXJ5LXB1YmxpYy1rZXktZm9yLXRlc3Rz michiel@laptop"
  PROXY = { "REMOTE_ADDR" => "127.0.0.1", "HTTP_X_FORWARDED_FOR" => "198.51.100.23" }.freeze

  def setup
    @michiel = User.create!(email: "michiel@example.com", name: "Michiel", password: "correct horse")
  end

  def teardown
    [Deploy, EnvVar, Domain, Certificate, Backup, App, DeployKey, Server, User].each(&:delete_all)
  end

  def sign_in
    post "/login", params: { email: "michiel@example.com", password: "correct horse" }, headers: PROXY
    assert_response :redirect
  end

  def hashtrail_events(**params)
    assert Hashtrail::Rails.client.flush(timeout: 10), "the client sent everything"
    uri = URI("#{ENV["HASHTRAIL_URL"]}/v1/tenants/#{ENV["HASHTRAIL_TENANT"]}/events?" +
              URI.encode_www_form(params.merge(order: "asc", limit: 1000)))
    req = Net::HTTP::Get.new(uri)
    req["Authorization"] = "Bearer #{ENV["HASHTRAIL_READ_KEY"]}"
    res = Net::HTTP.start(uri.host, uri.port) { |h| h.request(req) }
    assert_equal "200", res.code, res.body
    JSON.parse(res.body)["events"]
  end

  def feed(**filters)
    Hashtrail::Rails.client.flush(timeout: 10)
    get "/activity.json", params: filters
    assert_response :success
    body = JSON.parse(response.body)
    body["events"].select! { |e| e["seq"] >= @start.to_i } # this test's events only
    body
  end

  def test_the_team_changes_servers_and_apps_and_reads_the_activity_feed
    @start = start = hashtrail_events.size

    post "/login", params: { email: "michiel@example.com", password: "wrong" }, headers: PROXY
    assert_response :unauthorized
    post "/login", params: { email: "mallory@example.com", password: "x" }, headers: PROXY
    assert_response :unauthorized
    sign_in

    post "/servers", params: { name: "web-1", ip: "203.0.113.10" }, headers: PROXY
    assert_response :see_other
    post "/servers/web-1/deploy_keys", params: { name: "michiel@laptop", public_key: PUBLIC_KEY }
    assert_response :see_other
    key_id = DeployKey.last.id
    post "/apps", params: { name: "shop", server: "web-1" }
    assert_response :see_other
    post "/apps/shop/env_vars", params: { name: "DATABASE_URL", value: SECRET_DB_URL }
    post "/apps/shop/env_vars", params: { name: "SECRET_KEY_BASE", value: "skb-#{SecureRandom.hex(8)}" }
    patch "/apps/shop/env_vars/DATABASE_URL", params: { value: SECRET_DB_URL.sub("hunter2", "hunter3") }
    delete "/apps/shop/env_vars/SECRET_KEY_BASE"
    post "/apps/shop/domains", params: { name: "shop.example.com" }
    post "/apps/shop/domains", params: { name: "www.shop.example.com" }
    delete "/apps/shop/domains/www.shop.example.com"
    patch "/apps/shop/certificate", params: { certificate: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
                                              private_key: PRIVATE_KEY }
    patch "/apps/shop/certificate", params: { letsencrypt: "1" }
    patch "/apps/shop/backup", params: { enabled: "1", schedule: "hourly", keep: "24" }
    assert_response :see_other

    post "/apps/shop/deploys", params: { revision: "a1b2c3d" }
    assert_response :created
    assert_includes response.body, "Application deployed"
    post "/apps/shop/deploys", params: { revision: "broken-9f8e7d" }
    assert_response :unprocessable_entity

    get "/apps/shop"
    assert_equal({ "enabled" => true, "schedule" => "hourly", "keep" => 24 }, JSON.parse(response.body)["backup"])

    delete "/servers/web-1/deploy_keys/#{key_id}"
    delete "/apps/shop"
    assert_response :see_other
    delete "/servers/web-1"
    assert_response :see_other
    delete "/logout"

    all = hashtrail_events.drop(start)
    actions = all.map { |e| e["action"] }
    assert_equal %w[
      user.login_failed user.login_failed user.login
      server.create server.deploy_key_add app.create app.backup_update
      app.env_var_add app.env_var_add app.env_var_change app.env_var_remove
      app.domain_add app.domain_add app.domain_remove
      app.certificate_update app.certificate_update app.backup_update
      app.deploy app.deploy
      server.deploy_key_remove app.env_var_remove app.domain_remove app.certificate_remove app.backup_remove app.delete
      server.delete user.logout
    ].sort, actions.sort
    # Secrets never leave Intercity: env var values, the private key, the deploy token.
    dump = JSON.generate(all)
    refute_includes dump, "hunter2"
    refute_includes dump, "hunter3"
    refute_includes dump, "very-secret"
    refute_includes dump, ENV["DOKKU_DEPLOY_TOKEN"]
    refute_includes dump, "correct horse"
    sign_in # again, to read the feed

    # Sign-ins: a wrong password for a known user, an unknown address, then a success.
    auth = feed(category: "authentication")["events"].reverse
    assert_equal %w[user.login_failed user.login_failed user.login user.logout user.login], auth.map { |e| e["action"] }
    assert_equal %w[invalid_credentials unknown_user], auth[0, 2].map { |e| e["error"] }
    assert_equal "mallory@example.com", auth[1]["actor"]["email"]
    assert_equal "198.51.100.23", auth[2]["context"]["ip"], "the client's address, through the trusted proxy"
    assert_equal({ "type" => "user", "id" => @michiel.id.to_s, "email" => "michiel@example.com", "name" => "Michiel",
                   "auth" => { "method" => "password", "mfa" => false } }, auth[2]["actor"])

    # Configuration: env vars with their values redacted, domains, backups.
    config = feed(category: "configuration", app: "shop")
    assert_equal "category:configuration target:app:shop", config["query"]
    env = config["events"].reverse.select { |e| e["action"].start_with?("app.env_var") }
    # The last: DATABASE_URL removed with the app (dependent: :destroy).
    assert_equal %w[app.env_var_add app.env_var_add app.env_var_change app.env_var_remove app.env_var_remove],
                 env.map { |e| e["action"] }
    assert_equal %w[SECRET_KEY_BASE DATABASE_URL], env[3..].map { |e| e["targets"][0]["id"] }
    assert_equal [{ "field" => "name", "new" => "DATABASE_URL" }, { "field" => "value", "redacted" => true }], env[0]["changes"]
    assert_equal [{ "field" => "value", "redacted" => true }], env[2]["changes"]
    assert_equal [{ "type" => "env_var", "id" => "DATABASE_URL" }, { "type" => "app", "id" => "shop" }], env[2]["targets"]
    assert_equal "configuration", env[2]["category"]
    assert_equal @michiel.id.to_s, env[2]["actor"]["id"]
    assert_match(/\A[0-9A-Z]{26}\z/, env[2]["context"]["request_id"])
    assert_equal "/apps/shop/env_vars/DATABASE_URL", env[2]["context"]["path"]
    backup = config["events"].find { |e| e["action"] == "app.backup_update" && e["changes"].any? { |c| c["field"] == "schedule" } }
    assert_includes backup["changes"], { "field" => "schedule", "old" => "daily", "new" => "hourly" }
    assert_includes backup["changes"], { "field" => "enabled", "old" => false, "new" => true }

    # Security: deploy keys and the certificate, its private key redacted.
    security = feed(category: "security")["events"].reverse
    assert_equal %w[server.deploy_key_add app.certificate_update app.certificate_update server.deploy_key_remove app.certificate_remove],
                 security.map { |e| e["action"] }
    assert_equal "michiel@laptop", security[0]["changes"].find { |c| c["field"] == "name" }["new"]
    assert_match(/\ASHA256:/, security[0]["changes"].find { |c| c["field"] == "fingerprint" }["new"])
    assert_includes security[1]["changes"], { "field" => "private_key", "redacted" => true }
    assert_includes security[2]["changes"].map { |c| c["field"] }, "letsencrypt"

    # Servers and apps, and the deploys with their output and exit codes.
    resources = feed(category: "resource")["events"].reverse
    assert_equal %w[server.create app.create app.deploy app.deploy app.delete server.delete], resources.map { |e| e["action"] }
    ok, failed = resources.select { |e| e["action"] == "app.deploy" }
    assert_equal "success", ok["outcome"]
    assert_equal 0, ok["output"]["exit_code"]
    assert_includes ok["output"]["stdout"], "-----> Building shop from a1b2c3d"
    assert_includes ok["output"]["stdout"], "Application deployed"
    assert_equal "failure", failed["outcome"]
    assert_equal 1, failed["output"]["exit_code"]
    assert_includes failed["output"]["stderr"], "Build failed"
    assert_equal({ "type" => "user", "id" => @michiel.id.to_s }, ok["actor"].slice("type", "id"))
    assert_includes ok["targets"], { "type" => "app", "id" => "shop" }
    assert_includes ok["tags"], "revision:a1b2c3d"

    # One server's history, and the HTML feed with its tabs.
    assert_equal %w[server.create server.deploy_key_add app.create app.deploy app.deploy server.deploy_key_remove
                    app.delete server.delete], feed(server: "web-1")["events"].reverse.map { |e| e["action"] }
    get "/activity", params: { category: "security" }
    assert_response :success
    assert_select "li.event.security", 5
    assert_select "li.event[data-action='app.certificate_update'] .change", text: "private_key: (secret, changed)"
    get "/activity", params: { category: "resource" }
    assert_select "li.event.failure[data-action='app.deploy'] details summary", text: "exit code 1"
    assert_select "li.event.failure[data-action='app.deploy'] .who", text: "Michiel"
  end

  def test_a_change_that_fails_on_the_server_is_not_recorded
    sign_in
    post "/servers", params: { name: "db-1", ip: "203.0.113.20" }
    patch "/servers/db-1", params: { status: "offline" }
    assert_response :see_other
    assert_equal "offline", Server.find_by(name: "db-1").status
    before = hashtrail_events.size
    post "/apps", params: { name: "orphan", server: "db-1" }
    assert_response :bad_gateway
    assert_nil App.find_by(name: "orphan"), "rolled back"
    post "/apps", params: { name: "Bad Name!", server: "db-1" }
    assert_response :unprocessable_entity
    assert_equal before, hashtrail_events.size, "nothing recorded for a rolled-back change"
    status = hashtrail_events.reverse.find { |e| e["action"] == "server.update" }
    assert_equal [{ "field" => "status", "old" => "online", "new" => "offline" }], status["changes"]
  end

  def test_signed_out_users_see_nothing
    get "/activity"
    assert_redirected_to "/login"
    post "/servers", params: { name: "sneaky", ip: "203.0.113.66" }
    assert_redirected_to "/login"
    assert_nil Server.find_by(name: "sneaky")
  end
end
