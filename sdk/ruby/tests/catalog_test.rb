# frozen_string_literal: true

require_relative "helper"

# The catalog constructors against the real server's GET /v1/catalog: one
# constructor per action, with the catalog's defaults, each accepted.
class CatalogTest < Minitest::Test
  include ServerHelpers

  def catalog
    JSON.parse(Net::HTTP.get(URI("#{server_url}/v1/catalog")))
  end

  def sample(action)
    c = Hashtrail::Catalog
    user = c.user("42", email: "ann@example.com")
    case action
    when "user.login" then c.login_succeeded(user, c.password_and_mfa("totp"))
    when "user.login_failed" then c.login_failed({ type: "user", email: "who@example.com" }, c.password, c::UNKNOWN_USER)
    when "user.logout" then c.logged_out(user)
    when "user.mfa_enable", "user.mfa_disable" then c.public_send(c::CONSTRUCTORS[action], "42", "totp")
    when "user.email_change" then c.email_changed("42", "a@example.com", "b@example.com")
    when /\Arole\.(assign|unassign)\z/ then c.public_send(c::CONSTRUCTORS[action], "admin", c.user_ref("43"))
    when /\Arole\.permission/ then c.public_send(c::CONSTRUCTORS[action], "admin", "servers.write")
    when /\Amember\./ then c.public_send(c::CONSTRUCTORS[action], "ops", c.user_ref("43"))
    when "api_key.create" then c.api_key_created("key_1", "ci")
    when "access.grant" then c.access_granted(c.ref("app", "web"), c.user_ref("43"))
    when "access.deny" then c.access_denied(c.ref("app", "web"), "not on call")
    when /\Aaccess\.|\Adata\./ then c.public_send(c::CONSTRUCTORS[action], c.ref("app", "web"))
    when /env_var/ then c.public_send(c::CONSTRUCTORS[action], "web", "SECRET_KEY_BASE")
    when "app.deploy" then c.deployed("web", "v1.2.3")
    when "command.run" then c.command_run("git push dokku main", 1, "-----> Deploying", "error")
    when "settings.update", "user.update", "project.update"
      args = action == "settings.update" ? [] : ["7"]
      c.public_send(c::CONSTRUCTORS[action], *args, Hashtrail.diff({ a: 1 }, { a: 2 }))
    else c.public_send(c::CONSTRUCTORS[action], "7")
    end
  end

  def test_one_constructor_per_action_with_the_servers_defaults
    cat = catalog
    assert_equal Hashtrail::Catalog::VERSION, cat["version"]
    served = cat["actions"].map { |a| a["action"] }
    assert_equal served.sort, (Hashtrail::Catalog::ACTIONS.keys + Hashtrail::Catalog::RESERVED).sort
    cat["actions"].each do |a|
      next if Hashtrail::Catalog::RESERVED.include?(a["action"])

      assert_equal a.values_at("category", "severity", "outcome"), Hashtrail::Catalog::ACTIONS[a["action"]], a["action"]
      ev = sample(a["action"])
      assert_equal a["action"], ev["action"]
      expected_outcome = a["action"] == "command.run" ? "failure" : a["outcome"] # exit code 1
      assert_equal [a["category"], a["severity"], expected_outcome], ev.values_at("category", "severity", "outcome")
    end
  end

  def test_every_constructor_is_accepted_by_the_server
    tenant = fresh_tenant
    c = Hashtrail::Client.new(url: server_url, api_key: admin_key, tenant: tenant)
    Hashtrail::Catalog::CONSTRUCTORS.each_key { |action| c.record_sync(sample(action)) }
    got = events(tenant)
    assert_equal Hashtrail::Catalog::CONSTRUCTORS.keys, got.map { |e| e["action"] }
    env = got.find { |e| e["action"] == "app.env_var_add" }
    assert_equal [{ "field" => "SECRET_KEY_BASE", "redacted" => true }], env["changes"]
    run = got.find { |e| e["action"] == "command.run" }
    assert_equal 1, run["output"]["exit_code"]
  ensure
    c&.close
  end
end
