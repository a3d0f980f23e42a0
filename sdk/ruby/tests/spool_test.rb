# frozen_string_literal: true

require_relative "helper"

# The on-disk spool: what cannot be sent survives the client, and a new
# client on the same directory sends it first, under the same ids.
class SpoolTest < Minitest::Test
  include ServerHelpers

  def setup
    @dir = Dir.mktmpdir("hashtrail-spool")
  end

  def teardown
    FileUtils.rm_rf(@dir)
  end

  def test_spool_across_a_restart
    tenant = fresh_tenant
    proxy = FaultProxy.new(server_url)
    proxy.down
    errors = Queue.new
    opts = { url: proxy.url, api_key: admin_key, tenant: tenant, spool_path: @dir, backoff: [0.01, 0.1],
             flush_interval: 0.01, on_error: ->(e) { errors << e } }
    first = Hashtrail::Client.new(**opts)
    ids = 3.times.map { |i| first.record(action: "app.deploy", metadata: { "i" => i }) }
    wait_for { first.stats.spooled >= 1 }
    assert_equal 0, first.close(timeout: 0.3), "nothing lost: the rest went to the spool"
    assert_equal 3, first.stats.spooled
    assert File.size(File.join(@dir, "journal.jsonl")).positive?
    assert_empty events(tenant)

    proxy.up
    second = Hashtrail::Client.new(**opts)
    assert_equal 3, second.stats.spool_events
    later = second.record(action: "app.deploy", metadata: { "i" => 3 })
    assert second.flush(timeout: 10)
    assert_equal ids + [later], events(tenant).map { |e| e["id"] }, "the spool first, in order, same ids"
    assert_equal 0, second.stats.spool_events
    assert_equal 0, File.size(File.join(@dir, "journal.jsonl")), "an empty spool is emptied"
    second.close
  ensure
    proxy&.close
  end

  def test_spool_survives_a_killed_process
    tenant = fresh_tenant
    proxy = FaultProxy.new(server_url)
    proxy.down
    child = <<~RUBY
      require "hashtrail"
      c = Hashtrail::Client.new(url: ARGV[0], api_key: ARGV[1], tenant: ARGV[2], spool_path: ARGV[3],
                                backoff: [0.01, 0.05], flush_interval: 0.01)
      ids = 5.times.map { |i| c.record(action: "app.deploy", metadata: { "i" => i }) }
      sleep 0.01 until c.stats.spooled == 5
      puts ids.join(","); $stdout.flush
      sleep
    RUBY
    io = IO.popen(["ruby", "-I#{File.expand_path("../lib", __dir__)}", "-e", child, proxy.url, admin_key, tenant, @dir])
    ids = io.gets.to_s.chomp.split(",")
    Process.kill(:KILL, io.pid)
    io.close
    assert_equal 5, ids.size

    proxy.up
    c = Hashtrail::Client.new(url: proxy.url, api_key: admin_key, tenant: tenant, spool_path: @dir)
    assert c.flush(timeout: 10)
    assert_equal ids, events(tenant).map { |e| e["id"] }, "the killed process's events, in order, once"
    c.close
  ensure
    proxy&.close
  end

  def test_record_sync_through_the_spool
    tenant = fresh_tenant
    proxy = FaultProxy.new(server_url)
    proxy.rule = ->(n, _) { n <= 2 ? [503, { "Retry-After" => "0" }] : :pass }
    c = Hashtrail::Client.new(url: proxy.url, api_key: admin_key, tenant: tenant, spool_path: @dir,
                              backoff: [0.01, 0.05])
    r = c.record_sync(action: "user.login")
    assert_equal 1, c.stats.spooled
    assert_equal r.id, events(tenant).first["id"]
    c.close
  ensure
    proxy&.close
  end

  def test_record_sync_spooled_at_close
    proxy = FaultProxy.new(server_url)
    proxy.down
    c = Hashtrail::Client.new(url: proxy.url, api_key: admin_key, tenant: fresh_tenant, spool_path: @dir,
                              backoff: [0.01, 0.05])
    t = Thread.new { c.record_sync(action: "user.login") }
    t.report_on_exception = false
    wait_for { c.stats.spooled == 1 }
    c.close(timeout: 0.1)
    assert_raises(Hashtrail::SpooledError) { t.value }
  ensure
    proxy&.close
  end

  def test_spool_limit_fills_the_queue
    proxy = FaultProxy.new(server_url)
    proxy.down
    c = Hashtrail::Client.new(url: proxy.url, api_key: admin_key, tenant: fresh_tenant, spool_path: @dir,
                              spool_limit: 600, queue_size: 3, when_full: :drop, backoff: [0.01, 0.05],
                              flush_interval: 0.01, on_error: ->(_) {})
    results = 40.times.map { |i| c.record(action: "user.login", metadata: { "i" => i }).tap { sleep 0.005 } }
    assert_includes results, false, "past the limit the queue fills and the full policy applies"
    assert_operator c.stats.spool_bytes, :<, 600 + 3 * 200
    c.close(timeout: 0.1)
  ensure
    proxy&.close
  end

  def test_torn_write_is_truncated_on_open
    s = Hashtrail::Spool.new(@dir)
    s.append(['{"id":"a"}', '{"id":"b"}'])
    s.close
    File.open(File.join(@dir, "journal.jsonl"), "ab") { |f| f.write('{"id":"c"') } # a crash mid-write
    s = Hashtrail::Spool.new(@dir)
    assert_equal ['{"id":"a"}', '{"id":"b"}'], s.peek(10)
    s.ack(1)
    s.append(['{"id":"d"}'])
    s.close
    s = Hashtrail::Spool.new(@dir)
    assert_equal ['{"id":"b"}', '{"id":"d"}'], s.peek(10), "the head file survives a restart"
    s.ack(2)
    assert s.empty?
    assert_equal 0, File.size(File.join(@dir, "journal.jsonl"))
    s.close
  end

  def test_compaction_keeps_what_is_unacknowledged
    s = Hashtrail::Spool.new(@dir, compact_bytes: 100)
    lines = 20.times.map { |i| JSON.generate("id" => "event-#{i}") }
    s.append(lines)
    s.ack(12)
    journal = File.join(@dir, "journal.jsonl")
    assert_equal lines[12..].sum { |l| l.bytesize + 1 }, File.size(journal), "acknowledged lines are gone"
    refute File.exist?(File.join(@dir, "head"))
    s.append(['{"id":"event-20"}'])
    s.ack(1)
    assert_equal lines[13..] + ['{"id":"event-20"}'], s.peek(100)
    s.close
    s = Hashtrail::Spool.new(@dir, compact_bytes: 100)
    assert_equal lines[13..] + ['{"id":"event-20"}'], s.peek(100), "the same after a restart"
    s.close
  end

  def test_one_client_per_directory
    s = Hashtrail::Spool.new(@dir)
    assert_raises(Hashtrail::Spool::InUseError) { Hashtrail::Spool.new(@dir) }
    s.close
    Hashtrail::Spool.new(@dir).close
  end
end
