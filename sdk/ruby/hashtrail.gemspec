# frozen_string_literal: true

require_relative "lib/hashtrail/version"

Gem::Specification.new do |s|
  s.name = "hashtrail"
  s.version = Hashtrail::VERSION
  s.summary = "Record audit events into Hashtrail, the tamper-evident audit log"
  s.description = "Non-blocking client with batching, retries, an on-disk spool, the standard " \
                  "event catalog, diffs with secrets redacted, Rack middleware and Rails auditing."
  s.authors = ["Hashtrail contributors"]
  s.homepage = "https://github.com/hashtrail/hashtrail"
  s.required_ruby_version = ">= 3.0"
  s.files = Dir["lib/**/*.rb"]
  s.require_paths = ["lib"]
  s.metadata["rubygems_mfa_required"] = "true"
end
