# frozen_string_literal: true

module Hashtrail
  # Error is the base of every error the SDK raises or reports.
  class Error < StandardError; end

  # NoTenantError: an installation-wide client got an event without a
  # tenant, or a tenant client got an event for another tenant.
  class NoTenantError < Error; end

  # ClosedError: the client was closed.
  class ClosedError < Error; end

  # QueueFullError: the queue was full and the event was dropped.
  class QueueFullError < Error; end

  # SpooledError: record_sync's event was written to the spool and the
  # client closed before it was sent; a later client sends it.
  class SpooledError < Error; end

  # ProblemError is an RFC 9457 answer from the server: the HTTP status and
  # the problem body (code, detail, request_id, errors).
  class ProblemError < Error
    attr_reader :status, :body, :retry_after

    def initialize(status, body, retry_after: nil)
      @status = status
      @body = body.is_a?(Hash) ? body : {}
      @retry_after = retry_after
      super("hashtrail: #{status} #{@body["code"]}: #{@body["detail"] || @body["title"]}".strip)
    end

    # code is the problem's machine-readable code (invalid, rate_limited...).
    def code = body["code"]
    # request_id names the request in the server's logs.
    def request_id = body["request_id"]
    # fields is the problem's errors: [{"field" => ..., "message" => ...}].
    def fields = Array(body["errors"])
  end

  # EventError reports an event given up: rejected by the server (status and
  # field errors), dropped (queue full, close) or failed after retries.
  class EventError < Error
    attr_reader :id, :tenant, :status, :fields, :cause_error, :kind

    def initialize(kind, id:, tenant: nil, status: nil, fields: [], cause_error: nil)
      @kind = kind
      @id = id
      @tenant = tenant
      @status = status
      @fields = fields
      @cause_error = cause_error
      detail = fields.map { |f| "#{f["field"]}: #{f["message"]}" }.join("; ")
      detail = cause_error.message if detail.empty? && cause_error
      super("hashtrail: event #{id} #{kind}#{status ? " (#{status})" : ""}#{detail.empty? ? "" : ": #{detail}"}")
    end
  end

  # RetryError reports a failed try that will be retried: a 429 or 5xx
  # answer (status, retry_after) or a network error (status nil).
  class RetryError < Error
    attr_reader :status, :retry_after, :attempt, :cause_error, :events

    def initialize(events:, attempt:, status: nil, retry_after: nil, cause_error: nil)
      @events = events
      @attempt = attempt
      @status = status
      @retry_after = retry_after
      @cause_error = cause_error
      what = status ? "status #{status}" : cause_error&.message
      super("hashtrail: try #{attempt} of #{events} event(s) failed (#{what}); retrying")
    end
  end
end
