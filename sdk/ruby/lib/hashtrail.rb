# frozen_string_literal: true

# Hashtrail records audit events into a Hashtrail server (a tamper-evident
# audit log): Hashtrail::Client queues and sends them in the background with
# retries and an optional on-disk spool; Hashtrail::Catalog builds the
# standard events; Hashtrail.diff makes field changes with secrets
# redacted; Hashtrail::Rack::Middleware and hashtrail/rails add request
# context and model auditing to web apps. Standard library only.
module Hashtrail; end

require_relative "hashtrail/version"
require_relative "hashtrail/errors"
require_relative "hashtrail/secret_name"
require_relative "hashtrail/ulid"
require_relative "hashtrail/context"
require_relative "hashtrail/diff"
require_relative "hashtrail/catalog"
require_relative "hashtrail/client"
require_relative "hashtrail/rack"
