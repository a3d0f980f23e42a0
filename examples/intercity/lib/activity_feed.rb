# frozen_string_literal: true

require "json"
require "net/http"
require "uri"

# ActivityFeed reads Intercity's activity back from Hashtrail's query API,
# filtered as the feed's tabs are: by category, app and server.
class ActivityFeed
  # TABS are the feed's filters: a label and the Hashtrail category.
  TABS = { "Servers & apps" => "resource", "Configuration" => "configuration", "Security" => "security",
           "Sign-ins" => "authentication" }.freeze

  # Error: Hashtrail did not answer the query.
  class Error < StandardError; end

  def initialize(url: ENV.fetch("HASHTRAIL_URL"), key: ENV["HASHTRAIL_READ_KEY"] || ENV.fetch("HASHTRAIL_API_KEY"),
                 tenant: ENV.fetch("HASHTRAIL_TENANT", "intercity"))
    @url = url.chomp("/")
    @key = key
    @tenant = tenant
  end

  # query returns the search for the filters, in Hashtrail's syntax.
  def self.query(category: nil, app: nil, server: nil)
    [("category:#{category}" if category.present?), ("target:app:#{app}" if app.present?),
     ("target:server:#{server}" if server.present?)].compact.join(" ")
  end

  # events returns the newest events matching the filters.
  def events(limit: 100, **filters)
    params = { limit: limit }
    q = self.class.query(**filters)
    params[:q] = q unless q.empty?
    uri = URI("#{@url}/v1/tenants/#{@tenant}/events?#{URI.encode_www_form(params)}")
    req = Net::HTTP::Get.new(uri)
    req["Authorization"] = "Bearer #{@key}"
    res = Net::HTTP.start(uri.host, uri.port, use_ssl: uri.scheme == "https", open_timeout: 5, read_timeout: 10) do |h|
      h.request(req)
    end
    return [] if res.code == "404" # no activity yet
    raise Error, "Hashtrail answered #{res.code}: #{res.body}" unless res.code == "200"

    JSON.parse(res.body)["events"]
  end
end
