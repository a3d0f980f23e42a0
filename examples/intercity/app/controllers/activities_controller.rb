# frozen_string_literal: true

# ActivitiesController is the activity feed: what happened to servers and
# apps, newest first, filtered by category (the tabs), app or server, read
# back from Hashtrail.
class ActivitiesController < ApplicationController
  def index
    @filters = params.permit(:category, :app, :server).to_h.symbolize_keys
    @events = ActivityFeed.new.events(**@filters)
    # Events recorded outside a request (hashtrail run) name the user by id only.
    ids = @events.filter_map { |e| e.dig("actor", "id") if e.dig("actor", "type") == "user" }.uniq
    @user_names = User.where(id: ids).to_h { |u| [u.id.to_s, u.name] }
    respond_to do |f|
      f.html
      f.json { render json: { query: ActivityFeed.query(**@filters), events: @events } }
    end
  rescue ActivityFeed::Error => e
    render plain: e.message, status: :bad_gateway
  end
end
