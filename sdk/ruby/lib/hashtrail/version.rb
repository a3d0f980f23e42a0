# frozen_string_literal: true

module Hashtrail
  # VERSION is the gem's version.
  VERSION = "0.1.0"
end
