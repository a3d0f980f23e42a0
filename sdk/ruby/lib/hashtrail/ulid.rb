# frozen_string_literal: true

require "securerandom"

module Hashtrail
  # ULID makes event ids: 26 characters of Crockford base32, a 48-bit
  # millisecond time then 80 random bits, so ids sort by creation time.
  module ULID
    ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

    module_function

    # generate returns a new ULID string for the time +now+.
    def generate(now = Time.now)
      ms = (now.to_r * 1000).to_i
      n = (ms << 80) | SecureRandom.random_number(1 << 80)
      out = +""
      26.times do
        out.prepend(ALPHABET[n & 31])
        n >>= 5
      end
      out
    end
  end
end
