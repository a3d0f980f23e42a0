# frozen_string_literal: true

require_relative "helper"

# The client against a real server, with a fault-injecting proxy in front
# for outages, 429 and 503: every failure path the Go SDK's tests cover.
class ClientTest < Minitest::Test
  include ServerHelpers

  def setup
    @tenant = fresh_tenant
    @errors = Queue.new
    @proxy = FaultProxy.new(server_url)
    @clients = []
  end

  def teardown
    @clients.each { |c| c.close(timeout: 1) }
    @proxy&.close
  end

  def client(**opts)
    c = Hashtrail::Client.new(url: @proxy.url, api_key: admin_key, tenant: @tenant, backoff: [0.01, 0.2],
                              flush_interval: 0.02, on_error: ->(e) { @errors << e }, **opts)
    @clients << c
    c
  end

  def errors
    out = []
    out << @errors.pop until @errors.empty?
    out
  end

  def test_record_sync_returns_the_receipt
    c = client(service: { name: "billing", version: "1.2" })
    r = c.record_sync(action: "user.login", actor: { type: "user", id: "42" })
    assert_equal 0, r.seq
    assert_match(/\A[0-9a-f]{64}\z/, r.leaf_hash)
    assert_match(/\A[0-9A-Z]{26}\z/, r.id)
    ev = events(@tenant).first
    assert_equal r.id, ev["id"]
    assert_equal r.leaf_hash, ev["leaf_hash"]
    assert_equal({ "name" => "billing", "version" => "1.2" }, ev["service"])
    assert_equal "42", ev["actor"]["id"]
  end

  def test_record_batches_in_order
    c = client(batch_size: 7)
    ids = 20.times.map { |i| c.record(action: "project.update", metadata: { "i" => i }) }
    assert c.flush(timeout: 10)
    got = events(@tenant)
    assert_equal ids, got.map { |e| e["id"] }
    assert_equal (0...20).to_a, got.map { |e| e["metadata"]["i"] }
    assert_equal 3, @proxy.requests.size, "20 events in batches of 7"
    assert_equal 20, c.stats.sent
    assert_empty errors
  end

  def test_many_threads_each_in_order_exactly_once
    c = client(batch_size: 50)
    threads = 8.times.map do |t|
      Thread.new { 200.times { |i| c.record(action: "data.read", metadata: { "t" => t, "i" => i }) } }
    end
    threads.each(&:join)
    assert c.flush(timeout: 30)
    got = events(@tenant).map { |e| e["metadata"] }
    assert_equal 1600, got.size
    assert_equal 1600, got.uniq.size
    8.times { |t| assert_equal (0...200).to_a, got.select { |m| m["t"] == t }.map { |m| m["i"] } }
    assert_equal 1600, c.stats.sent
  end

  def test_server_down_then_back
    @proxy.down
    c = client
    ids = 5.times.map { |i| c.record(action: "app.deploy", metadata: { "i" => i }) }
    wait_for { c.stats.retried >= 3 }
    assert(errors.all? { |e| e.is_a?(Hashtrail::RetryError) && e.status.nil? })
    @proxy.up
    assert c.flush(timeout: 10)
    assert_equal ids, events(@tenant).map { |e| e["id"] }
    assert_equal 5, c.stats.sent
  end

  def test_lost_answer_is_not_recorded_twice
    @proxy.rule = ->(n, _) { n == 1 ? :lose_answer : :pass }
    c = client
    r = c.record_sync(action: "user.logout")
    assert_equal 2, @proxy.requests.size
    assert_equal @proxy.requests[0], @proxy.requests[1], "a retry sends the same bytes"
    got = events(@tenant)
    assert_equal [r.id], got.map { |e| e["id"] }
  end

  def test_429_honours_retry_after
    times = []
    @proxy.rule = lambda do |n, _|
      times << Time.now
      n == 1 ? [429, { "Retry-After" => "1" }] : :pass
    end
    c = client
    c.record_sync(action: "user.login")
    assert_operator times[1] - times[0], :>=, 0.95, "waited Retry-After, not the 10ms backoff"
    err = errors.first
    assert_instance_of Hashtrail::RetryError, err
    assert_equal 429, err.status
    assert_equal 1, err.retry_after
    assert_equal "rate_limited", err.cause_error.code
    assert_equal 1, events(@tenant).size
  end

  def test_503_with_retry_after_date_and_500_without
    times = []
    @proxy.rule = lambda do |n, _|
      times << Time.now
      case n
      when 1 then [503, { "Retry-After" => (Time.now + 2).httpdate }]
      when 2 then [500, {}]
      else :pass
      end
    end
    c = client
    c.record_sync(action: "user.login")
    assert_operator times[1] - times[0], :>=, 0.9
    assert_operator times[2] - times[1], :<, 0.5, "a 500 without Retry-After backs off briefly"
    assert_equal [503, 500], errors.map(&:status)
    assert_equal 2, c.stats.retried
    assert_equal 1, events(@tenant).size
  end

  def test_retry_after_is_capped
    @proxy.rule = ->(n, _) { n == 1 ? [429, { "Retry-After" => "3600" }] : :pass }
    c = client(max_retry_after: 0.3)
    t = Time.now
    c.record_sync(action: "user.login")
    assert_operator Time.now - t, :<, 3
  end

  def test_max_attempts_gives_up
    @proxy.rule = ->(_, _) { [503, {}] }
    c = client(max_attempts: 3)
    err = assert_raises(Hashtrail::EventError) { c.record_sync(action: "user.login") }
    assert_equal :failed, err.kind
    assert_equal 503, err.status
    assert_equal 3, @proxy.requests.size
    assert_equal 1, c.stats.failed
  end

  def test_partial_rejection_reports_field_errors
    c = client
    a = c.record(action: "user.login")
    bad = c.record(action: "user.login", severity: "extreme")
    b = c.record(action: "user.logout")
    assert c.flush(timeout: 10)
    assert_equal [a, b], events(@tenant).map { |e| e["id"] }
    err = errors.find { |e| e.is_a?(Hashtrail::EventError) }
    assert_equal bad, err.id
    assert_equal :rejected, err.kind
    assert_equal 400, err.status
    assert_equal "events[1].severity", err.fields.first["field"]
    assert_equal 1, c.stats.failed
    assert_equal 2, c.stats.sent

    sync_err = assert_raises(Hashtrail::EventError) { c.record_sync(action: "Not Dotted") }
    assert_equal "events[0].action", sync_err.fields.first["field"]
  end

  def test_conflicting_id_is_isolated_by_splitting
    c = client
    c.record_sync(id: "fixed-1", action: "user.login")
    x = c.record(action: "user.logout")
    c.record(id: "fixed-1", action: "user.delete") # the same id, other content: 409
    y = c.record(action: "user.logout")
    assert c.flush(timeout: 10)
    assert_equal ["fixed-1", x, y], events(@tenant).map { |e| e["id"] }
    err = errors.find { |e| e.is_a?(Hashtrail::EventError) }
    assert_equal "fixed-1", err.id
    assert_equal 409, err.status
  end

  def test_bad_key_fails_without_retries
    c = Hashtrail::Client.new(url: @proxy.url, api_key: "htk_wrong", tenant: @tenant, on_error: ->(e) { @errors << e })
    @clients << c
    err = assert_raises(Hashtrail::EventError) { c.record_sync(action: "user.login") }
    assert_equal 401, err.status
    assert_equal 1, @proxy.requests.size
    assert_equal 0, c.stats.retried
  end

  def test_queue_full_drop
    @proxy.down
    c = client(queue_size: 2, when_full: :drop)
    results = 10.times.map { c.record(action: "user.login") }
    assert_includes results, false
    t = Time.now
    refute c.record(action: "user.login"), "a full queue drops at once"
    assert_operator Time.now - t, :<, 0.05
    dropped = errors.select { |e| e.is_a?(Hashtrail::EventError) && e.kind == :dropped }
    assert_operator dropped.size, :>=, 1
    assert_instance_of Hashtrail::QueueFullError, dropped.first.cause_error
    assert_equal results.count(false) + 1, c.stats.dropped
    @proxy.up
    assert c.flush(timeout: 10)
    assert_equal results.count { |r| r }, events(@tenant).size
  end

  def test_queue_full_block_waits_then_drops
    @proxy.down
    c = client(queue_size: 1, when_full: :block, block_timeout: 0.3)
    c.record(action: "user.login")
    wait_for { c.stats.queued.zero? } # the sender holds the first
    c.record(action: "user.login")
    t = Time.now
    refute c.record(action: "user.login")
    assert_operator Time.now - t, :>=, 0.28
    assert_equal 1, c.stats.dropped
  end

  def test_queue_full_block_waits_for_space
    @proxy.rule = ->(_, _) { sleep(0.2) && :pass }
    c = client(queue_size: 1, when_full: :block, block_timeout: 5, batch_size: 1)
    ids = 4.times.map { c.record(action: "user.login") }
    assert(ids.all?)
    assert c.flush(timeout: 10)
    assert_equal ids, events(@tenant).map { |e| e["id"] }
    assert_equal 0, c.stats.dropped
  end

  def test_record_sync_timeout_leaves_the_event_queued
    @proxy.down
    c = client
    t = Time.now
    assert_raises(Timeout::Error) { c.record_sync(action: "user.login", timeout: 0.2) }
    assert_operator Time.now - t, :<, 1
    @proxy.up
    assert c.flush(timeout: 10)
    assert_equal 1, events(@tenant).size, "sent once the server is back"
  end

  def test_close_without_spool_drops_and_counts
    @proxy.down
    c = client
    3.times { c.record(action: "user.login") }
    assert_equal 3, c.close(timeout: 0.3)
    assert_equal 3, c.stats.dropped
    assert_raises(Hashtrail::ClosedError) { c.record(action: "user.login") }
  end

  def test_fan_out_to_several_tenants
    other = fresh_tenant
    c = Hashtrail::Client.new(url: @proxy.url, api_key: admin_key)
    @clients << c
    receipts = c.record_fan_out_sync([@tenant, other], Hashtrail::Catalog.password_changed("42"))
    assert_equal [@tenant, other], receipts.map(&:tenant)
    assert_equal 1, receipts.map(&:id).uniq.size
    c.record_fan_out([@tenant, other], action: "user.logout")
    assert c.flush(timeout: 10)
    assert_equal 2, events(other).size
    assert_equal events(other).map { |e| e["id"] }, events(@tenant).map { |e| e["id"] }
  end

  def test_tenant_checks
    assert_raises(Hashtrail::NoTenantError) { client.record(action: "user.login", tenant: "someone-else") }
    inst = Hashtrail::Client.new(url: @proxy.url, api_key: admin_key)
    @clients << inst
    assert_raises(Hashtrail::NoTenantError) { inst.record(action: "user.login") }
    assert_raises(Hashtrail::NoTenantError) { client.record_fan_out(%w[a b], action: "user.login") }
  end

  def test_request_context_and_actor
    c = client
    Hashtrail.with_context(ip: "203.0.113.9", request_id: "req-1") do
      Hashtrail.with_actor(-> { { type: "user", id: "7", email: "ann@example.com" } }) do
        c.record(action: "project.create")
        c.record(action: "project.delete", actor: { type: "system", id: "cron" }, context: { request_id: "own" })
      end
    end
    c.record(action: "project.update")
    assert c.flush(timeout: 10)
    a, b, d = events(@tenant)
    assert_equal "7", a["actor"]["id"]
    assert_equal "ann@example.com", a["actor"]["email"]
    assert_equal "203.0.113.9", a["context"]["ip"]
    assert_equal "cron", b["actor"]["id"]
    assert_equal "own", b["context"]["request_id"], "the event's own context wins"
    assert_equal "203.0.113.9", b["context"]["ip"], "and gets the empty fields"
    assert_nil d["actor"]
  end
end
