# frozen_string_literal: true

$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "minitest/autorun"
require "hashtrail"
require "json"
require "net/http"
require "socket"
require "tmpdir"

# ServerHelpers reach the real Hashtrail server that scripts/with-server
# started (HASHTRAIL_URL, HASHTRAIL_ADMIN_KEY, an installation-wide admin
# key); a test that needs it skips with a message when they are unset.
module ServerHelpers
  def server_url
    ENV["HASHTRAIL_URL"] || skip("HASHTRAIL_URL is unset: run under scripts/with-server (sdk/ruby/test does)")
  end

  def admin_key = ENV.fetch("HASHTRAIL_ADMIN_KEY")

  # fresh_tenant names a tenant no other test uses.
  def fresh_tenant
    "rb-#{name.downcase.gsub(/[^a-z0-9]+/, "-")[0, 40]}-#{rand(1 << 30).to_s(36)}"
  end

  # events lists a tenant's events through the query API, oldest first
  # (none for a tenant not created yet).
  def events(tenant, **params)
    out = []
    cursor = nil
    loop do
      q = params.merge(order: "asc", limit: 1000)
      q[:cursor] = cursor if cursor
      body = api_get("/v1/tenants/#{tenant}/events?#{URI.encode_www_form(q)}", missing: { "events" => [] })
      out.concat(body["events"])
      cursor = body["next_cursor"]
      break if cursor.nil? || cursor.empty?
    end
    out
  end

  def api_get(path, missing: nil)
    uri = URI(server_url + path)
    req = Net::HTTP::Get.new(uri)
    req["Authorization"] = "Bearer #{admin_key}"
    res = Net::HTTP.start(uri.host, uri.port) { |h| h.request(req) }
    return missing if missing && res.code == "404"
    raise "GET #{path}: #{res.code} #{res.body}" unless res.code == "200"

    JSON.parse(res.body)
  end

  def wait_for(timeout = 10)
    deadline = Time.now + timeout
    until yield
      raise Minitest::Assertion, "condition not met in #{timeout}s" if Time.now > deadline

      sleep 0.02
    end
  end
end

# FaultProxy stands between a client and the real server and injects
# faults: it can be down (nothing listens on its port), answer a status of
# its choosing with Retry-After, or pass a request on and lose the answer.
# Each request goes through +rule+, a lambda (request number, body) ->
# :pass, :lose_answer, [status, headers] or nil (pass).
class FaultProxy
  attr_reader :port, :requests
  attr_accessor :rule

  def initialize(upstream)
    @upstream = URI(upstream)
    @requests = []
    @rule = nil
    @mu = Mutex.new
    @conns = []
    @server = TCPServer.new("127.0.0.1", 0)
    @port = @server.addr[1]
    start_accepting
  end

  def url = "http://127.0.0.1:#{@port}"

  # down stops listening and cuts open connections.
  def down
    @server.close
    @accept.join
    @mu.synchronize { @conns.each { |c| c.close unless c.closed? } }
  end

  # up listens again on the same port.
  def up
    @server = TCPServer.new("127.0.0.1", @port) # Ruby sets SO_REUSEADDR
    start_accepting
  end

  def close
    down unless @server.closed?
  end

  private

  def start_accepting
    server = @server
    @accept = Thread.new do
      loop do
        conn = server.accept
        @mu.synchronize { @conns << conn }
        Thread.new { serve(conn) }
      end
    rescue IOError, SystemCallError
      nil
    end
  end

  def serve(conn)
    while (line = conn.gets)
      method, path, = line.split(" ")
      headers = {}
      while (h = conn.gets) && h != "\r\n"
        k, v = h.split(":", 2)
        headers[k.downcase] = v.strip
      end
      body = conn.read(headers["content-length"].to_i)
      n = @mu.synchronize { @requests << body; @requests.size }
      action = @rule&.call(n, body) || :pass
      if action.is_a?(Array)
        status, extra = action
        problem = JSON.generate(status: status, code: status == 429 ? "rate_limited" : "unavailable", detail: "injected")
        hdrs = { "Content-Type" => "application/problem+json", "Content-Length" => problem.bytesize }.merge(extra || {})
        conn.write("HTTP/1.1 #{status} Injected\r\n#{hdrs.map { |k, v| "#{k}: #{v}\r\n" }.join}\r\n#{problem}")
        next
      end
      res = forward(method, path, headers, body)
      if action == :lose_answer
        conn.close
        return
      end
      conn.write("HTTP/1.1 #{res.code} #{res.message}\r\nContent-Type: #{res["Content-Type"]}\r\n" \
                 "Content-Length: #{res.body.to_s.bytesize}\r\n\r\n#{res.body}")
    end
  rescue IOError, SystemCallError
    nil
  ensure
    conn.close unless conn.closed?
  end

  def forward(method, path, headers, body)
    req = Net::HTTPGenericRequest.new(method, !body.empty?, true, path)
    %w[authorization content-type].each { |k| req[k] = headers[k] if headers[k] }
    req.body = body unless body.empty?
    Net::HTTP.start(@upstream.host, @upstream.port) { |h| h.request(req) }
  end
end
