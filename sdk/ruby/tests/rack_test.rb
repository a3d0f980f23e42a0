# frozen_string_literal: true

require_relative "helper"

# The Rack middleware: client IP through trusted proxies, request id, trace
# id and the actor function, visible to code running inside the request.
class RackTest < Minitest::Test
  TRUSTED = [IPAddr.new("10.0.0.0/8"), IPAddr.new("fd00::/8")].freeze

  def ip(env) = Hashtrail::Rack.client_ip(env, TRUSTED)

  def test_client_ip
    assert_equal "203.0.113.5", ip("REMOTE_ADDR" => "203.0.113.5", "HTTP_X_FORWARDED_FOR" => "1.2.3.4")
    assert_equal "1.2.3.4", ip("REMOTE_ADDR" => "10.0.0.1", "HTTP_X_FORWARDED_FOR" => "6.6.6.6, 1.2.3.4, 10.0.0.2")
    assert_equal "10.0.0.2", ip("REMOTE_ADDR" => "10.0.0.1", "HTTP_X_FORWARDED_FOR" => "1.2.3.4, unknown, 10.0.0.2")
    assert_equal "2001:db8::7",
                 ip("REMOTE_ADDR" => "10.0.0.1", "HTTP_FORWARDED" => 'for=1.2.3.4, for="[2001:db8::7]:443";proto=https')
    assert_equal "198.51.100.1", ip("REMOTE_ADDR" => "fd00::1", "HTTP_X_FORWARDED_FOR" => "198.51.100.1:5555")
    assert_equal "10.0.0.1", ip("REMOTE_ADDR" => "10.0.0.1")
  end

  def test_middleware_sets_context_for_the_request
    seen = nil
    user = nil
    app = lambda do |_env|
      user = { id: "42" } # authentication after the middleware
      seen = [Hashtrail.current_context, Hashtrail.current_actor]
      [200, {}, ["ok"]]
    end
    mw = Hashtrail::Rack::Middleware.new(app, trusted_proxies: ["10.0.0.0/8"],
                                              actor: ->(_env) { user && { type: "user", id: user[:id] } })
    _, headers, = mw.call("REMOTE_ADDR" => "10.1.1.1", "HTTP_X_FORWARDED_FOR" => "192.0.2.44",
                          "HTTP_USER_AGENT" => "curl/8", "REQUEST_METHOD" => "POST", "PATH_INFO" => "/apps",
                          "HTTP_TRACEPARENT" => "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    ctx, actor = seen
    assert_equal "192.0.2.44", ctx["ip"]
    assert_equal "curl/8", ctx["user_agent"]
    assert_equal "POST", ctx["method"]
    assert_equal "/apps", ctx["path"]
    assert_equal "web", ctx["source"]
    assert_equal "4bf92f3577b34da6a3ce929d0e0e4736", ctx["trace_id"]
    assert_match(/\A[0-9A-Z]{26}\z/, ctx["request_id"])
    assert_equal ctx["request_id"], headers["X-Request-Id"]
    assert_equal({ "type" => "user", "id" => "42" }, actor)
    assert_empty Hashtrail.current_context, "nothing leaks past the request"
    assert_nil Hashtrail.current_actor
  end

  def test_request_id_from_the_header_when_sane
    ids = []
    app = ->(_env) { ids << Hashtrail.current_context["request_id"]; [200, {}, []] }
    mw = Hashtrail::Rack::Middleware.new(app)
    mw.call("REMOTE_ADDR" => "192.0.2.1", "HTTP_X_REQUEST_ID" => "abc-123")
    mw.call("REMOTE_ADDR" => "192.0.2.1", "HTTP_X_REQUEST_ID" => "x" * 200)
    assert_equal "abc-123", ids[0]
    assert_match(/\A[0-9A-Z]{26}\z/, ids[1])
  end

  def test_contexts_are_per_thread
    q = Queue.new
    Hashtrail.with_actor({ type: "user", id: "main" }) do
      Thread.new { q << Hashtrail.current_actor }.join
      assert_equal "main", Hashtrail.current_actor["id"]
    end
    assert_nil q.pop
  end
end
