# frozen_string_literal: true

require_relative "helper"

begin
  require "active_record"
  require "sqlite3"
  require "hashtrail/rails"
rescue LoadError => e
  raise if ENV["HASHTRAIL_REQUIRE_FRAMEWORKS"] == "1"

  warn "sdk/ruby: SKIP the Rails tests: #{e.message} (Debian packages ruby-rails, ruby-sqlite3)"
end

if defined?(Hashtrail::Audited)
  ActiveRecord::Base.establish_connection(adapter: "sqlite3", database: ":memory:")
  ActiveRecord::Migration.verbose = false
  ActiveRecord::Schema.define do
    create_table(:servers) { |t| t.string :name; t.string :ip; t.timestamps }
    create_table(:env_vars) { |t| t.integer :server_id; t.string :name; t.string :value; t.string :api_token; t.timestamps }
  end

  # A server, audited under its default name.
  class Server < ActiveRecord::Base
    include Hashtrail::Audited
    has_many :env_vars
  end

  # An env var: the value is always redacted, the server is a target too.
  class EnvVar < ActiveRecord::Base
    include Hashtrail::Audited
    belongs_to :server
    audited as: "env_var", secret: [:value], parent: :server, category: :configuration,
            actions: { create: "app.env_var_add", update: "app.env_var_change", destroy: "app.env_var_remove" }
  end

  # Hashtrail::Audited and the sign-in hooks against a real server.
  class RailsTest < Minitest::Test
    include ServerHelpers

    def setup
      @tenant = fresh_tenant
      @client = Hashtrail::Client.new(url: server_url, api_key: admin_key, tenant: @tenant, flush_interval: 0.01)
      Hashtrail::Rails.client = @client
    end

    def teardown
      @client.close
      Hashtrail::Rails.client = nil
    end

    def recorded
      assert @client.flush(timeout: 10)
      events(@tenant)
    end

    def test_create_update_destroy_after_commit_with_diffs
      s = Hashtrail.with_actor(type: "user", id: "9") do
        s = Server.create!(name: "web-1", ip: "10.0.0.5")
        s.update!(ip: "10.0.0.6")
        s.update!(updated_at: Time.now + 5) # nothing worth recording
        s.destroy!
        s
      end
      got = recorded
      assert_equal %w[server.create server.update server.delete], got.map { |e| e["action"] }
      assert(got.all? { |e| e["targets"] == [{ "type" => "server", "id" => s.id.to_s, "name" => "web-1" }] })
      assert_equal [{ "field" => "ip", "new" => "10.0.0.5" }, { "field" => "name", "new" => "web-1" }], got[0]["changes"]
      assert_equal [{ "field" => "ip", "old" => "10.0.0.5", "new" => "10.0.0.6" }], got[1]["changes"]
      assert_equal "9", got[2]["actor"]["id"]
    end

    def test_nothing_on_rollback
      ActiveRecord::Base.transaction do
        Server.create!(name: "doomed")
        raise ActiveRecord::Rollback
      end
      s = Server.create!(name: "kept")
      ActiveRecord::Base.transaction do
        s.update!(name: "renamed")
        raise ActiveRecord::Rollback
      end
      assert_equal ["server.create"], recorded.map { |e| e["action"] }
      assert_equal 1, recorded.size
    end

    def test_recorded_only_once_the_outer_transaction_commits
      ActiveRecord::Base.transaction do
        Server.create!(name: "a")
        assert @client.flush(timeout: 5)
        assert_empty events(@tenant), "nothing before the commit"
      end
      assert_equal 1, recorded.size
    end

    def test_secrets_redacted_and_parent_targets
      s = Server.create!(name: "db-1")
      v = EnvVar.create!(server: s, name: "DATABASE_URL", value: "postgres://u:hunter2@db/x", api_token: "tok_1")
      v.update!(value: "postgres://u:hunter3@db/x")
      got = recorded.drop(1)
      assert_equal %w[app.env_var_add app.env_var_change], got.map { |e| e["action"] }
      assert_equal "configuration", got[0]["category"]
      assert_includes got[0]["changes"], { "field" => "value", "redacted" => true }
      assert_includes got[0]["changes"], { "field" => "api_token", "redacted" => true }
      assert_equal [{ "field" => "value", "redacted" => true }], got[1]["changes"]
      assert_equal({ "type" => "server", "id" => s.id.to_s, "name" => "db-1" }, got[0]["targets"][1])
      refute_match(/hunter|tok_1/, JSON.generate(got))
    end

    def test_a_closed_client_never_breaks_the_commit
      @client.close
      s = Server.create!(name: "after-close")
      assert s.persisted?
      refute Hashtrail::Rails.record(Hashtrail::Catalog.project_created("7"))
    end

    def test_sign_in_hooks
      user = Struct.new(:id, :email).new(42, "ann@example.com")
      Hashtrail.with_context(ip: "192.0.2.7") do
        Hashtrail::Rails.login_failed("nobody@example.com", Hashtrail::Catalog::UNKNOWN_USER)
        Hashtrail::Rails.login(user, auth: Hashtrail::Catalog.password_and_mfa("totp"))
        Hashtrail::Rails.record(Hashtrail::Catalog.project_created("7")) # the user is now the actor
        Hashtrail::Rails.logout(user)
      end
      got = recorded
      assert_equal %w[user.login_failed user.login project.create user.logout], got.map { |e| e["action"] }
      assert_equal({ "type" => "user", "email" => "nobody@example.com", "auth" => { "method" => "password", "mfa" => false } },
                   got[0]["actor"])
      assert_equal "unknown_user", got[0]["error"]
      assert_equal "password+totp", got[1]["actor"]["auth"]["method"]
      assert_equal "42", got[2]["actor"]["id"]
      assert_equal "192.0.2.7", got[3]["context"]["ip"]
    ensure
      Hashtrail.set_actor(nil)
    end
  end
end
