# frozen_string_literal: true

# The few lines that replace Intercity's own activity table: a client that
# records into the installation's tenant, and who the current user is.
Hashtrail::Rails.configure do |c|
  if ENV["HASHTRAIL_URL"] && ENV["HASHTRAIL_API_KEY"]
    c.client = Hashtrail::Client.new(
      url: ENV["HASHTRAIL_URL"], api_key: ENV["HASHTRAIL_API_KEY"], tenant: ENV.fetch("HASHTRAIL_TENANT", "intercity"),
      service: { name: "intercity", environment: Rails.env },
      on_error: ->(err) { Rails.logger.warn("hashtrail: #{err.message}") }
    )
    at_exit { c.client.close(timeout: 5) }
  end
  c.current_user = ->(request) { User.find_by(id: request.session[:user_id]) }
  c.user_actor = ->(user) { { type: "user", id: user.id.to_s, email: user.email, name: user.name } }
end
