# frozen_string_literal: true

require "fileutils"
require "json"

module Hashtrail
  # Spool keeps events that cannot be sent yet on disk, in a directory that
  # one client uses at a time (an exclusive lock on "lock"):
  #
  # - "journal.jsonl", append-only: one event's wire JSON a line. A batch is
  #   written at once and fsynced before it counts as spooled.
  # - "head", the byte offset of the first line not yet acknowledged,
  #   replaced by rename after each acknowledged batch, without fsync:
  #   losing it only resends events the server already has, which it
  #   answers by id.
  #
  # Once every line is acknowledged both files are emptied; when the
  # acknowledged part passes compact_bytes (16 MiB) and half the journal,
  # the rest is copied to a new journal (fsynced, renamed) so a spool that
  # drains while it fills stays small. On open, a line
  # cut short or not valid JSON (a crash mid-write) ends the journal, which
  # is truncated there.
  class Spool
    # InUseError: another client holds the spool directory.
    class InUseError < Error; end

    attr_reader :dir

    def initialize(dir, compact_bytes: 16 << 20)
      @dir = dir
      @compact_bytes = compact_bytes
      FileUtils.mkdir_p(dir)
      @lock = File.open(File.join(dir, "lock"), File::RDWR | File::CREAT, 0o600)
      unless @lock.flock(File::LOCK_EX | File::LOCK_NB)
        @lock.close
        raise InUseError, "hashtrail: spool #{dir} is in use by another client"
      end
      @journal_path = File.join(dir, "journal.jsonl")
      @head_path = File.join(dir, "head")
      @file = File.open(@journal_path, File::RDWR | File::CREAT | File::BINARY, 0o600)
      load_entries
    end

    # count is the number of events waiting in the spool.
    def count = @entries.size

    # empty? reports whether nothing waits in the spool.
    def empty? = @entries.empty?

    # bytes is the size of the events waiting in the spool.
    def bytes = @entries.empty? ? 0 : @size - @entries.first[0]

    # append writes the events' wire JSON strings and fsyncs them.
    def append(wires)
      return if wires.empty?

      data = wires.map { |w| "#{w}\n" }.join
      @file.seek(@size)
      @file.write(data)
      @file.fsync
      off = @size
      wires.each do |w|
        @entries << [off, w.bytesize + 1]
        off += w.bytesize + 1
      end
      @size = off
    end

    # peek returns up to n events from the head, oldest first.
    def peek(n)
      @entries.first(n).map { |off, len| @file.pread(len, off).chomp }
    end

    # ack drops n events from the head once the server answered for them.
    def ack(n)
      @entries.shift(n)
      if @entries.empty?
        @file.truncate(0)
        @size = 0
        File.delete(@head_path) if File.exist?(@head_path)
      elsif @entries.first[0] >= @compact_bytes && @entries.first[0] * 2 >= @size
        compact
      else
        tmp = "#{@head_path}.tmp"
        File.write(tmp, @entries.first[0].to_s)
        File.rename(tmp, @head_path)
      end
    end

    # close releases the directory.
    def close
      @file.close unless @file.closed?
      return if @lock.closed?

      @lock.flock(File::LOCK_UN)
      @lock.close
    end

    private

    # compact copies the unacknowledged lines to a new journal. The head
    # file goes first: a crash before the rename then resends acknowledged
    # events (answered by id), never skips unacknowledged ones.
    def compact
      start = @entries.first[0]
      tmp = "#{@journal_path}.tmp"
      File.open(tmp, "wb", 0o600) do |f|
        IO.copy_stream(@file, f, @size - start, start)
        f.fsync
      end
      File.delete(@head_path) if File.exist?(@head_path)
      File.rename(tmp, @journal_path)
      File.open(@dir, &:fsync) rescue nil # rubocop:disable Style/RescueModifier -- not every platform syncs a directory
      @file.close
      @file = File.open(@journal_path, File::RDWR | File::BINARY)
      @entries.map! { |off, len| [off - start, len] }
      @size -= start
    end

    def load_entries
      head = File.exist?(@head_path) ? File.read(@head_path).to_i : 0
      data = @file.read
      @entries = []
      off = 0
      while off < data.bytesize
        nl = data.index("\n", off)
        break unless nl

        line = data.byteslice(off, nl - off)
        break unless valid?(line)

        @entries << [off, nl - off + 1] if off >= head
        off = nl + 1
      end
      @size = off
      @file.truncate(off) if off < data.bytesize
      ack(0) if @entries.empty?
    end

    def valid?(line)
      JSON.parse(line).is_a?(Hash)
    rescue JSON::ParserError
      false
    end
  end
end
