# frozen_string_literal: true

require "erb"

module Hashtrail
  # Sender is the Client's background thread: it takes batches from the
  # queue, sends them one request at a time (so events reach the server in
  # the order record accepted them), retries, splits a batch that the server
  # refuses because of one event, and moves everything to the spool while
  # the server cannot be reached.
  module Sender
    private

    def run_sender
      loop do
        if @spool && !@spool.empty?
          break unless send_spool_head

          next
        end
        items = take_batch
        break if items.nil?

        send_items(items)
      rescue StandardError => e
        report(e)
        sleep 0.1
      end
    ensure
      finish_close
    end

    # take_batch waits for a batch: full, or flush_interval after its first
    # event, or at once for record_sync, flush and close. nil once closed
    # and empty.
    def take_batch
      @mu.synchronize do
        loop do
          return nil if @queue.empty? && @closed

          if @queue.empty?
            @cv.wait(@mu)
            next
          end
          first = @queue.first
          due = (first.at ||= now) + @flush_interval
          if @closed || @queue.size >= @batch_size || @flush_until >= first.n || now >= due
            return take_from_queue(@batch_size)
          end

          @cv.wait(@mu, due - now)
        end
      end
    end

    # take_from_queue shifts up to n items within batch_bytes (at least
    # one); the caller holds @mu.
    def take_from_queue(n)
      items = []
      bytes = 0
      while (it = @queue.first) && items.size < n && (items.empty? || bytes + it.wire.bytesize < @batch_bytes)
        items << @queue.shift
        bytes += it.wire.bytesize + 1
      end
      @cv.broadcast
      items
    end

    # send_items sends one batch until it is answered, spooled or given up.
    def send_items(items)
      attempt = 0
      loop do
        return abort_items(items) if deadline_passed?

        ans = post(items.map(&:wire))
        return settle(items, ans) if ans.ok?

        if ans.retryable?
          attempt += 1
          retried(items.size, attempt, ans)
          return spool_items(items) if @spool
          return give_up(items, :failed, ans) if @max_attempts.positive? && attempt >= @max_attempts
          return abort_items(items) unless backoff_sleep(attempt, ans.retry_after)

          next
        end
        if ans.splittable? && items.size > 1
          half = items.size / 2
          send_items(items[0, half])
          send_items(items[half..])
          return
        end
        return give_up(items, [400, 409, 413].include?(ans.status) ? :rejected : :failed, ans)
      end
    end

    # send_spool_head sends the spool's oldest events; false once close's
    # deadline has passed.
    def send_spool_head
      attempt = 0
      limit = @batch_size
      loop do
        move_queue_to_spool
        return false if deadline_passed?

        wires = @spool.peek(limit)
        ans = post(wires)
        items = wires.each_with_index.map { |w, i| @spool_items[i] || spooled_item(w) }
        if ans.ok?
          settle(items, ans)
          ack_spool(wires.size)
          return true
        end
        if ans.retryable?
          attempt += 1
          retried(wires.size, attempt, ans)
          return false unless backoff_sleep(attempt, ans.retry_after)
        elsif ans.splittable? && wires.size > 1
          limit = wires.size / 2
        else
          give_up(items, [400, 409, 413].include?(ans.status) ? :rejected : :failed, ans)
          ack_spool(wires.size)
          return true
        end
      end
    end

    def spooled_item(wire)
      ev = JSON.parse(wire)
      Client::Item.new(nil, ev["id"], ev["tenant"] || ev["tenants"], wire, nil)
    end

    def ack_spool(count)
      @spool.ack(count)
      @spool_items.shift(count)
    end

    # move_queue_to_spool: while the spool holds events, everything queued
    # behind them goes there too (up to spool_limit), so order is kept.
    def move_queue_to_spool
      items = @mu.synchronize do
        taken = []
        while !@queue.empty? && (@spool_limit.nil? || @spool.bytes < @spool_limit - taken.sum { |i| i.wire.bytesize })
          taken << @queue.shift
        end
        @cv.broadcast unless taken.empty?
        taken
      end
      spool_items(items) unless items.empty?
    end

    def spool_items(items)
      @spool.append(items.map(&:wire))
      @spool_items.concat(items)
      @mu.synchronize { @counts[:spooled] += items.size }
    rescue SystemCallError, IOError => e
      report(e)
      @mu.synchronize do
        @queue.unshift(*items)
        @cv.broadcast
      end
      backoff_sleep(1, nil)
    end

    def post(wires)
      path = @tenant ? "/v1/tenants/#{ERB::Util.url_encode(@tenant)}/events?partial=true" : "/v1/events?partial=true"
      timeout = @request_timeout
      timeout = (@deadline - now).clamp(0.05, @request_timeout) if @deadline
      @transport.post(path, wires, timeout: timeout)
    end

    # settle hands each event its answer: receipts, or its field errors when
    # the server rejected it in a partial batch.
    def settle(items, ans)
      rows = Array(ans.body["events"]).group_by { |r| r["index"] }
      rejected = Array(ans.body["rejected"]).to_h { |r| [r["index"], Array(r["errors"])] }
      sent = 0
      items.each_with_index do |it, i|
        if rejected.key?(i)
          fail_item(it, EventError.new(:rejected, id: it.id, tenant: it.tenant, status: 400, fields: rejected[i]))
        elsif rows[i]
          sent += 1
          it.waiter&.resolve(receipts: rows[i].map { |r| receipt(r) })
        else
          fail_item(it, EventError.new(:failed, id: it.id, tenant: it.tenant, status: ans.status,
                                                cause_error: Error.new("hashtrail: no answer for this event")))
        end
      end
      finish(items, sent: sent)
    end

    def receipt(row)
      Client::Receipt.new(tenant: row["tenant"], id: row["id"], seq: row["seq"],
                          received_at: row["received_at"], leaf_hash: row["leaf_hash"])
    end

    def give_up(items, kind, ans)
      cause = ans.error || ProblemError.new(ans.status, ans.body, retry_after: ans.retry_after)
      fields = ans.error ? [] : Array(ans.body["errors"])
      items.each do |it|
        fail_item(it, EventError.new(kind, id: it.id, tenant: it.tenant, status: ans.status, fields: fields,
                                           cause_error: cause))
      end
      finish(items, sent: 0)
    end

    def fail_item(item, err)
      @mu.synchronize { @counts[:failed] += 1 }
      item.waiter&.resolve(error: err)
      report(err)
    end

    # abort_items: close's deadline passed; spool what is left, else drop it.
    def abort_items(items)
      return spool_items(items) if @spool

      @mu.synchronize do
        @counts[:dropped] += items.size
        @counts[:lost_at_close] += items.size
      end
      items.each do |it|
        err = EventError.new(:dropped, id: it.id, tenant: it.tenant,
                                       cause_error: ClosedError.new("hashtrail: closed before it could be sent"))
        it.waiter&.resolve(error: err)
        report(err)
      end
      finish(items, sent: 0)
    end

    def finish(items, sent:)
      @mu.synchronize do
        @counts[:sent] += sent
        @finished += items.count(&:n)
        @cv.broadcast
      end
    end

    def retried(count, attempt, ans)
      @mu.synchronize { @counts[:retried] += count }
      report(RetryError.new(events: count, attempt: attempt, status: ans.status, retry_after: ans.retry_after,
                            cause_error: ans.error || ProblemError.new(ans.status, ans.body)))
    end

    # backoff_sleep waits before retry +attempt+: a random time in
    # (0, min(max, min*2**(attempt-1))] (full jitter), or Retry-After when
    # longer (capped). False when close's deadline passes first.
    def backoff_sleep(attempt, retry_after)
      cap = [@backoff_max, @backoff_min * (2**(attempt - 1))].min
      wait = cap * (1.0 - rand)
      wait = [retry_after, @max_retry_after].min if retry_after && retry_after > wait
      @mu.synchronize do
        wake = now + wait
        loop do
          return false if deadline_passed_locked?

          left = wake - now
          return true if left <= 0

          left = [left, @deadline - now].min if @deadline
          @cv.wait(@mu, left)
        end
      end
    end

    def deadline_passed? = @mu.synchronize { deadline_passed_locked? }
    def deadline_passed_locked? = !@deadline.nil? && now >= @deadline

    # finish_close: the sender is stopping; spool or drop what is left and
    # answer record_sync callers whose events wait in the spool.
    def finish_close
      leftover = @mu.synchronize do
        @closed = true
        q = @queue
        @queue = []
        q
      end
      unless leftover.empty?
        if @spool
          begin
            @spool.append(leftover.map(&:wire))
            @spool_items.concat(leftover)
            @mu.synchronize { @counts[:spooled] += leftover.size }
          rescue SystemCallError, IOError => e
            report(e)
            @spool = nil
            abort_items(leftover)
          end
        else
          abort_items(leftover)
        end
      end
      @spool_items.compact.each do |it|
        it.waiter&.resolve(error: SpooledError.new("hashtrail: event #{it.id} is in the spool; a later client sends it"))
      end
      @transport.reset
      @mu.synchronize { @cv.broadcast }
    end
  end
end
