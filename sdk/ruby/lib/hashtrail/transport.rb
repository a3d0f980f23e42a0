# frozen_string_literal: true

require "json"
require "net/http"
require "openssl"
require "time"
require "uri"

module Hashtrail
  # Transport sends batches of encoded events to one Hashtrail server over
  # one kept-alive connection. It is used by one sender thread at a time.
  class Transport
    # Answer is what the server said to one request: an HTTP status (nil for
    # a network error), the parsed body, Retry-After in seconds and the
    # network error.
    Answer = Struct.new(:status, :body, :retry_after, :error, keyword_init: true) do
      # ok? is a 2xx answer.
      def ok? = status && status >= 200 && status < 300
      # retryable? is a 429, a 5xx or a network error (DESIGN §3).
      def retryable? = status.nil? || status == 429 || status >= 500
      # splittable? refuses the whole request because of one event in it.
      def splittable? = [400, 409, 413].include?(status)
    end

    NETWORK_ERRORS = [SystemCallError, IOError, EOFError, SocketError, Timeout::Error,
                      Net::OpenTimeout, Net::ReadTimeout, OpenSSL::SSL::SSLError, Net::HTTPBadResponse].freeze

    def initialize(url, api_key, user_agent:, timeout:)
      @uri = URI(url.to_s.chomp("/"))
      @api_key = api_key
      @user_agent = user_agent
      @timeout = timeout
      @http = nil
    end

    # post sends wire-encoded events to path; timeout bounds the request.
    def post(path, wires, timeout: @timeout)
      body = +'{"events":['
      wires.each_with_index { |w, i| body << "," if i.positive?; body << w }
      body << "]}"
      req = Net::HTTP::Post.new(@uri.path + path)
      req["Authorization"] = "Bearer #{@api_key}"
      req["Content-Type"] = "application/json"
      req["User-Agent"] = @user_agent
      req.body = body
      res = connection(timeout).request(req)
      Answer.new(status: res.code.to_i, body: parse(res.body), retry_after: Transport.retry_after(res["Retry-After"]))
    rescue *NETWORK_ERRORS => e
      reset
      Answer.new(error: e)
    end

    # reset closes the connection; the next request opens a new one.
    def reset
      @http&.finish if @http&.started?
    rescue IOError
      nil
    ensure
      @http = nil
    end

    # retry_after parses a Retry-After header (seconds or an HTTP date)
    # into seconds, or nil.
    def self.retry_after(value)
      return nil if value.nil? || value.strip.empty?
      return Integer(value.strip, 10).clamp(0, nil) if value.strip.match?(/\A\d+\z/)

      [Time.httpdate(value.strip) - Time.now, 0].max
    rescue ArgumentError
      nil
    end

    private

    def connection(timeout)
      if @http.nil?
        @http = Net::HTTP.new(@uri.host, @uri.port)
        @http.use_ssl = @uri.scheme == "https"
        @http.keep_alive_timeout = 30
        @http.max_retries = 0
      end
      @http.open_timeout = timeout
      @http.read_timeout = timeout
      @http.write_timeout = timeout
      @http.start unless @http.started?
      @http
    end

    def parse(body)
      return {} if body.nil? || body.empty?

      v = JSON.parse(body)
      v.is_a?(Hash) ? v : {}
    rescue JSON::ParserError
      {}
    end
  end
end
