# frozen_string_literal: true

require "ipaddr"
require "json"
require_relative "errors"
require_relative "ulid"
require_relative "context"
require_relative "spool"
require_relative "transport"
require_relative "sender"

module Hashtrail
  # Client records audit events: record queues an event and returns at
  # once; a background sender thread sends batches with retries (429, 5xx
  # and network errors, exponential backoff with full jitter, Retry-After
  # honoured) under ids given before the first try, so a retry never
  # records an event twice. A Client is safe to share between threads.
  class Client
    include Sender

    # Receipt is the server's answer for one written event.
    Receipt = Struct.new(:tenant, :id, :seq, :received_at, :leaf_hash, keyword_init: true)

    # Stats are the client's counters (see #stats).
    Stats = Struct.new(:sent, :retried, :spooled, :dropped, :failed, :queued, :spool_events, :spool_bytes,
                       keyword_init: true)

    # Item is one queued event: its order number, id, tenant(s), wire JSON
    # the waiter of a record_sync and when the sender first saw it.
    Item = Struct.new(:n, :id, :tenant, :wire, :waiter, :at)

    # Waiter is where record_sync waits for its event's answer.
    class Waiter
      def initialize(fan_out)
        @fan_out = fan_out
        @mu = Mutex.new
        @cv = ConditionVariable.new
        @done = false
      end

      # resolve answers the waiter with receipts or an error.
      def resolve(receipts: nil, error: nil)
        @mu.synchronize do
          return if @done

          @done = true
          @receipts = receipts
          @error = error
          @cv.broadcast
        end
      end

      # wait returns the receipt (an array for fan-out) or raises.
      def wait(timeout)
        deadline = timeout && (Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout)
        @mu.synchronize do
          until @done
            left = deadline && (deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC))
            raise Timeout::Error, "hashtrail: record_sync timed out; the event stays queued" if left && left <= 0

            @cv.wait(@mu, left)
          end
        end
        raise @error if @error

        @fan_out ? @receipts : @receipts.first
      end
    end

    attr_reader :tenant, :trusted_proxies

    # new makes a client for the server at +url+ with +api_key+.
    #
    # tenant:: the key is scoped to this tenant; without it the key is
    #          installation-wide and every event names "tenant" (or "tenants").
    # service:: stamped on events without one ({name:, version:, ...}).
    # batch_size, batch_bytes:: events and encoded bytes per request.
    # flush_interval:: seconds a batch waits to fill after its first event.
    # queue_size:: events held in memory for the sender.
    # when_full:: :block (wait up to block_timeout seconds, then drop) or :drop.
    # spool_path:: a directory for the on-disk spool (see Spool).
    # spool_limit:: bytes; past it the queue fills and when_full applies.
    # on_error:: called with EventError (an event given up), RetryError (a
    #            try that will be retried) and spool I/O errors, on the sender
    #            thread (on the caller's for a drop); must return quickly.
    # backoff:: [min, max] seconds; retry n waits rand(0, min(max, min*2**(n-1))]
    #           or Retry-After when longer, capped at max_retry_after.
    # max_attempts:: without a spool, fail a batch after this many retryable
    #                failures (0: never).
    # trusted_proxies:: addresses or CIDRs whose forwarding headers the Rack
    #                   middleware believes.
    def initialize(url:, api_key:, tenant: nil, service: nil, batch_size: 500, batch_bytes: 4 << 20,
                   flush_interval: 0.2, queue_size: 10_000, when_full: :block, block_timeout: 0.1,
                   spool_path: nil, spool_limit: nil, on_error: nil, logger: nil, backoff: [0.1, 30.0],
                   max_retry_after: 300, max_attempts: 0, request_timeout: 30, trusted_proxies: [],
                   user_agent: "hashtrail-ruby/#{VERSION}")
      raise ArgumentError, "hashtrail: url is required" if url.to_s.empty?
      raise ArgumentError, "hashtrail: batch_size must be 1..1000" unless (1..1000).cover?(batch_size)
      raise ArgumentError, "hashtrail: when_full must be :block or :drop" unless %i[block drop].include?(when_full)

      @tenant = tenant&.to_s
      @service = service && Hashtrail.stringify(service)
      @batch_size = batch_size
      @batch_bytes = batch_bytes
      @flush_interval = flush_interval
      @queue_size = queue_size
      @when_full = when_full
      @block_timeout = block_timeout
      @spool_limit = spool_limit
      @on_error = on_error
      @logger = logger
      @backoff_min, @backoff_max = backoff
      @max_retry_after = max_retry_after
      @max_attempts = max_attempts
      @request_timeout = request_timeout
      @trusted_proxies = trusted_proxies.map { |p| p.is_a?(IPAddr) ? p : IPAddr.new(p.to_s) }
      @transport = Transport.new(url, api_key, user_agent: user_agent, timeout: request_timeout)
      @spool = spool_path && Spool.new(spool_path)
      @spool_items = [] # this process's items in the spool, in spool order, nil for earlier runs'
      @spool.count.times { @spool_items << nil } if @spool
      @mu = Mutex.new
      @cv = ConditionVariable.new # any change: new item, space, flush, close, progress
      @queue = []
      @next_n = 0
      @finished = 0
      @flush_until = -1
      @closed = false
      @deadline = nil
      @counts = Hash.new(0)
      @thread = Thread.new { run_sender }
      @thread.name = "hashtrail-sender" if @thread.respond_to?(:name=)
    end

    # record queues an event (a hash with symbol or string keys) and returns
    # its id at once, or false when the queue was full and the event was
    # dropped (counted and reported to on_error). It fills what the event
    # leaves empty: id, time, actor and context (from the request context),
    # service and tenant. Raises NoTenantError or ClosedError.
    def record(event = nil, **fields)
      item = prepare(event || fields, nil)
      enqueue(item) ? item.id : false
    end

    # record_sync sends the event at once and returns its Receipt (seq,
    # leaf_hash, received_at) once the server has it durably; raises
    # EventError when it is rejected or given up, SpooledError when it was
    # spooled and the client closed first.
    def record_sync(event = nil, timeout: nil, **fields)
      waiter = Waiter.new(false)
      item = prepare(event || fields, waiter)
      raise QueueFullError, "hashtrail: queue full; event #{item.id} dropped" unless enqueue(item)

      waiter.wait(timeout)
    end

    # record_fan_out queues one event for several tenants (an
    # installation-wide key): the server writes it into each tenant's log
    # under the same id.
    def record_fan_out(tenants, event = nil, **fields)
      record(fan_out(tenants, event || fields))
    end

    # record_fan_out_sync is record_fan_out that waits and returns one
    # Receipt per tenant.
    def record_fan_out_sync(tenants, event = nil, timeout: nil, **fields)
      waiter = Waiter.new(true)
      item = prepare(fan_out(tenants, event || fields), waiter)
      raise QueueFullError, "hashtrail: queue full; event #{item.id} dropped" unless enqueue(item)

      waiter.wait(timeout)
    end

    # flush waits until every event recorded before it has been answered
    # (sent, rejected or given up), the spool included. It returns false
    # when timeout seconds pass first.
    def flush(timeout: nil)
      deadline = timeout && (now + timeout)
      @mu.synchronize do
        target = @next_n
        @flush_until = [@flush_until, target - 1].max
        @cv.broadcast
        until @finished >= target && (@spool.nil? || @spool.empty? || @closed)
          left = deadline && (deadline - now)
          return false if left && left <= 0
          return false unless @thread.alive?

          @cv.wait(@mu, left ? [left, 0.5].min : 0.5)
        end
      end
      true
    end

    # close stops accepting events, sends what is queued for up to timeout
    # seconds, then spools the rest (with a spool) or drops and reports it.
    # It returns the number of events lost (0 when all were sent or spooled).
    def close(timeout: 10)
      @mu.synchronize do
        return 0 if @closed && !@thread.alive?

        @closed = true
        @deadline = now + timeout
        @cv.broadcast
      end
      @thread.join
      @spool&.close
      @counts[:lost_at_close]
    end

    # closed? reports whether close was called.
    def closed? = @closed

    # stats returns the counters.
    def stats
      @mu.synchronize do
        Stats.new(sent: @counts[:sent], retried: @counts[:retried], spooled: @counts[:spooled],
                  dropped: @counts[:dropped], failed: @counts[:failed], queued: @queue.size,
                  spool_events: @spool ? @spool.count : 0, spool_bytes: @spool ? @spool.bytes : 0)
      end
    end

    private

    def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

    def fan_out(tenants, event)
      raise NoTenantError, "hashtrail: record_fan_out needs an installation-wide client (no tenant:)" if @tenant

      ev = Hashtrail.stringify(event, keep_nil: true)
      ev.delete("tenant")
      ev["tenants"] = Array(tenants).map(&:to_s)
      raise NoTenantError, "hashtrail: record_fan_out needs at least one tenant" if ev["tenants"].empty?

      ev
    end

    # prepare fills the event's defaults and encodes it once: those bytes
    # are what every try and the spool send.
    def prepare(event, waiter)
      raise ClosedError, "hashtrail: client closed" if @closed
      raise ArgumentError, "hashtrail: an event is a Hash" unless event.is_a?(Hash)

      ev = Hashtrail.stringify(event, keep_nil: true)
      ev.reject! { |k, v| v.nil? && k != "changes" && k != "metadata" }
      ev["id"] ||= ULID.generate
      ev["time"] = format_time(ev["time"] || Time.now)
      actor = ev["actor"] || Hashtrail.current_actor
      ev["actor"] = actor if actor
      ctx = Hashtrail.current_context
      ev["context"] = ctx.merge(ev["context"] || {}) unless ctx.empty?
      ev["service"] ||= @service if @service
      tenant = check_tenant(ev)
      Item.new(nil, ev["id"], tenant, JSON.generate(ev), waiter)
    end

    def check_tenant(ev)
      if @tenant
        ev["tenant"] ||= @tenant
        if ev["tenant"] != @tenant || ev.key?("tenants")
          raise NoTenantError, "hashtrail: this client records into tenant #{@tenant}, not #{ev["tenant"] || ev["tenants"]}"
        end

        return @tenant
      end
      raise NoTenantError, "hashtrail: an installation-wide client needs each event's tenant" unless ev["tenant"] || ev["tenants"]

      ev["tenant"] || ev["tenants"]
    end

    def format_time(t)
      t = Time.iso8601(t) if t.is_a?(String)
      t = t.to_time if !t.is_a?(Time) && t.respond_to?(:to_time)
      t.utc.strftime("%Y-%m-%dT%H:%M:%S.%6NZ")
    end

    # enqueue applies the full policy; false when the event was dropped.
    def enqueue(item)
      dropped = false
      @mu.synchronize do
        raise ClosedError, "hashtrail: client closed" if @closed

        if @queue.size >= @queue_size && @when_full == :block
          deadline = now + @block_timeout
          while @queue.size >= @queue_size && !@closed && (left = deadline - now).positive?
            @cv.wait(@mu, left)
          end
        end
        if @queue.size >= @queue_size || @closed
          @counts[:dropped] += 1
          dropped = true
        else
          item.n = @next_n
          @next_n += 1
          @flush_until = item.n if item.waiter
          @queue << item
          @cv.broadcast
        end
      end
      return true unless dropped

      err = EventError.new(:dropped, id: item.id, tenant: item.tenant,
                                     cause_error: QueueFullError.new("hashtrail: queue full"))
      item.waiter&.resolve(error: err)
      report(err)
      false
    end

    def report(err)
      @logger&.warn("hashtrail: #{err.message}")
      @on_error&.call(err)
    rescue StandardError => e
      @logger&.warn("hashtrail: on_error raised #{e.class}")
    end
  end
end
