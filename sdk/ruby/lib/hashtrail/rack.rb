# frozen_string_literal: true

require "ipaddr"
require_relative "context"
require_relative "ulid"

module Hashtrail
  # Rack holds the request-context middleware for any Rack app (Rails,
  # Sinatra, Hanami...).
  module Rack
    # Middleware puts the request's context (client IP, user agent, request
    # id, method, path, source, W3C trace id) and an actor function into the
    # fiber-local context for the request's duration, so Client#record fills
    # "context" and "actor" of events that leave them empty.
    #
    #   use Hashtrail::Rack::Middleware,
    #       trusted_proxies: ["10.0.0.0/8"],
    #       actor: ->(env) { u = env["warden"]&.user and { type: "user", id: u.id.to_s, email: u.email } }
    #
    # The actor lambda runs when an event is recorded, so it sees what the
    # app's authentication (after this middleware) has found.
    class Middleware
      def initialize(app, trusted_proxies: [], actor: nil, source: "web", request_id_header: "X-Request-Id")
        @app = app
        @trusted = trusted_proxies.map { |p| p.is_a?(IPAddr) ? p : IPAddr.new(p.to_s) }
        @actor = actor
        @source = source
        @rid_key = "HTTP_#{request_id_header.upcase.tr("-", "_")}"
        @rid_header = request_id_header
      end

      def call(env)
        rid = env[@rid_key]
        rid = ULID.generate unless rid && rid.bytesize <= 128 && rid.match?(/\A[[:print:]]+\z/)
        ctx = {
          "ip" => Hashtrail::Rack.client_ip(env, @trusted), "user_agent" => env["HTTP_USER_AGENT"],
          "request_id" => rid, "method" => env["REQUEST_METHOD"],
          "path" => env["PATH_INFO"].to_s.empty? ? "/" : env["PATH_INFO"], "source" => @source,
          "trace_id" => trace_id(env["HTTP_TRACEPARENT"])
        }.compact
        env["hashtrail.request_id"] = rid
        actor = @actor && -> { @actor.call(env) }
        status, headers, body = Hashtrail.with_context(ctx) do
          Hashtrail.with_actor(actor) { @app.call(env) }
        end
        headers[@rid_header] ||= rid if headers.respond_to?(:[]=) && !headers.frozen?
        [status, headers, body]
      end

      private

      def trace_id(traceparent)
        m = traceparent&.match(/\A[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}\z/)
        m && m[1] != "0" * 32 ? m[1] : nil
      end
    end

    module_function

    # client_ip is the connection's peer, unless the peer is a trusted
    # proxy: then Forwarded (RFC 7239 for=), or else X-Forwarded-For, is
    # walked from the right, skipping trusted proxies, and the first other
    # address is the client. Entries left of it are never believed; one
    # that is not an address ("unknown") stops the walk at the last trusted
    # hop.
    def client_ip(env, trusted)
      peer = parse_ip(env["REMOTE_ADDR"])
      return peer&.to_s unless peer && trusted?(peer, trusted)

      hops = forwarded_for(env["HTTP_FORWARDED"]) || env["HTTP_X_FORWARDED_FOR"].to_s.split(",").map(&:strip)
      client = peer
      hops.reverse_each do |h|
        ip = parse_ip(h)
        break unless ip

        client = ip
        break unless trusted?(ip, trusted)
      end
      client.to_s
    end

    def trusted?(ip, trusted) = trusted.any? { |net| net.family == ip.family && net.include?(ip) }

    def forwarded_for(header)
      return nil if header.nil? || header.strip.empty?

      header.split(",").map do |elem|
        pair = elem.split(";").map(&:strip).find { |p| p.downcase.start_with?("for=") }
        pair ? pair[4..].delete('"') : "unknown"
      end
    end

    # parse_ip reads "1.2.3.4", "1.2.3.4:80", "[2001:db8::1]:80" or "2001:db8::1".
    def parse_ip(value)
      return nil if value.nil? || value.empty?

      v = value.strip
      v = v[1...v.index("]")] if v.start_with?("[") && v.include?("]")
      v = v.split(":").first if v.count(":") == 1
      ip = IPAddr.new(v)
      ip.ipv4_mapped? ? ip.native : ip
    rescue IPAddr::Error, ArgumentError
      nil
    end
  end
end
