# frozen_string_literal: true

require "hashtrail"
require "active_support"
require "active_support/concern"

module Hashtrail
  # Rails wires Hashtrail into a Rails app: a Railtie that adds the request
  # context middleware, the Audited model concern, and sign-in hooks.
  #
  #   # config/initializers/hashtrail.rb
  #   Hashtrail::Rails.configure do |c|
  #     c.client = Hashtrail::Client.new(url: ENV["HASHTRAIL_URL"], api_key: ENV["HASHTRAIL_API_KEY"],
  #                                      tenant: "intercity", service: { name: "intercity" })
  #     c.current_user = ->(request) { User.find_by(id: request.session[:user_id]) }
  #   end
  #   # config/application.rb: config.hashtrail.trusted_proxies = ["10.0.0.0/8"]
  module Rails
    class << self
      # client is the Hashtrail::Client events are recorded with.
      attr_accessor :client
      # current_user is a lambda (ActionDispatch::Request) -> user or nil;
      # the user becomes the actor of events recorded during the request.
      attr_accessor :current_user
      # user_actor turns a user into an actor hash (default: id, email and
      # name when the user has them).
      attr_writer :user_actor

      # configure yields the module to set client, current_user, user_actor.
      def configure
        yield self
        self
      end

      # record queues an event with the configured client; without one it
      # does nothing (tests, consoles) and returns nil. It never raises into
      # the request or the commit: a closed client or an event without a
      # tenant is logged (its action only) and returns false.
      def record(event)
        client&.record(event)
      rescue Hashtrail::Error => e
        ::Rails.logger&.error("hashtrail: #{event["action"] || event[:action]} not recorded: #{e.message}") if defined?(::Rails.logger)
        false
      end

      # actor_for returns the actor hash for a user.
      def actor_for(user)
        return nil if user.nil?

        fn = @user_actor || lambda do |u|
          { "type" => "user", "id" => u.id.to_s, "email" => u.try(:email), "name" => u.try(:name) }.compact
        end
        Hashtrail.stringify(fn.call(user))
      end

      # login records user.login (how the user signed in: auth, default
      # password) and makes the user the actor for the rest of the request.
      def login(user, auth: Catalog.password)
        actor = actor_for(user)
        Hashtrail.set_actor(actor)
        record(Catalog.login_succeeded(actor, auth))
      end

      # logout records user.logout.
      def logout(user)
        record(Catalog.logged_out(actor_for(user)))
      end

      # login_failed records user.login_failed for a user, or for the
      # address tried when no account has it (so erasure finds it), with
      # the reason (Catalog::INVALID_CREDENTIALS, UNKNOWN_USER...).
      def login_failed(user_or_email, reason, auth: Catalog.password)
        actor = if user_or_email.is_a?(String) then { "type" => "user", "email" => user_or_email }
                else actor_for(user_or_email)
                end
        record(Catalog.login_failed(actor, auth, reason))
      end

      # middleware_actor is the actor function the Railtie gives the
      # middleware: current_user of the request, looked up when an event is
      # recorded.
      def middleware_actor
        lambda do |env|
          next nil unless current_user

          actor_for(current_user.call(ActionDispatch::Request.new(env)))
        end
      end
    end

    if defined?(::Rails::Railtie)
      # Railtie adds Hashtrail::Rack::Middleware (config.hashtrail:
      # trusted_proxies, source, request_id_header) to the app's stack.
      class Railtie < ::Rails::Railtie
        config.hashtrail = ActiveSupport::OrderedOptions.new
        initializer "hashtrail.middleware" do |app|
          opts = app.config.hashtrail
          app.middleware.use Hashtrail::Rack::Middleware,
                             trusted_proxies: opts.trusted_proxies || [], source: opts.source || "web",
                             request_id_header: opts.request_id_header || "X-Request-Id",
                             actor: Hashtrail::Rails.middleware_actor
        end
      end
    end
  end

  # Audited records a model's creates, updates and destroys after their
  # transaction commits, with field diffs (secrets redacted); nothing is
  # recorded for a change that rolls back.
  #
  #   class EnvVar < ApplicationRecord
  #     include Hashtrail::Audited
  #     audited as: "env_var", secret: [:value], parent: :app,
  #             actions: { create: "app.env_var_add", update: "app.env_var_change", destroy: "app.env_var_remove" }
  #   end
  #
  # Options: as (the target type and action prefix, default the model
  # name), actions (per create/update/destroy), category, only/except
  # (attributes), secret (attributes always redacted, beside SecretName),
  # id (the attribute identifying the target, default :id; an app's :name
  # gives the catalog's app:<name>), name (the attribute naming the
  # target, default :name), parent (an
  # association or a lambda whose record(s) are targets too), metadata (a
  # lambda record -> hash).
  module Audited
    extend ActiveSupport::Concern

    # IGNORED attributes are never diffed unless listed in only.
    IGNORED = %w[id created_at updated_at lock_version].freeze

    included do
      class_attribute :hashtrail_audit, instance_writer: false, default: {}
      after_save :hashtrail_capture_save
      after_destroy :hashtrail_capture_destroy
      after_commit :hashtrail_record_pending
      after_rollback :hashtrail_forget_pending
    end

    class_methods do
      # audited sets how this model is recorded (see Audited).
      def audited(**opts)
        unknown = opts.keys - %i[as actions category only except secret id name parent metadata]
        raise ArgumentError, "Hashtrail::Audited: unknown options #{unknown.join(", ")}" unless unknown.empty?

        self.hashtrail_audit = opts
      end
    end

    private

    def hashtrail_opts = hashtrail_audit

    def hashtrail_type = (hashtrail_opts[:as] || model_name.singular).to_s

    def hashtrail_action(kind)
      hashtrail_opts.dig(:actions, kind) || "#{hashtrail_type}.#{kind == :destroy ? "delete" : kind}"
    end

    def hashtrail_capture_save
      kind = previously_new_record? ? :create : :update
      before = {}
      after = {}
      saved_changes.each do |attr, (old, new)|
        next unless hashtrail_attr?(attr)

        before[attr] = old unless kind == :create
        after[attr] = new
      end
      changes = Hashtrail.diff(before, after, secret: Array(hashtrail_opts[:secret]))
      return if kind == :update && changes.empty?

      hashtrail_pending << [kind, changes]
    end

    def hashtrail_capture_destroy
      hashtrail_pending << [:destroy, []]
    end

    def hashtrail_attr?(attr)
      only = hashtrail_opts[:only]&.map(&:to_s)
      return only.include?(attr) if only

      !IGNORED.include?(attr) && !Array(hashtrail_opts[:except]).map(&:to_s).include?(attr)
    end

    def hashtrail_pending = (@hashtrail_pending ||= [])

    def hashtrail_record_pending
      pending = hashtrail_pending.dup
      hashtrail_pending.clear
      pending.each do |kind, changes|
        ev = { "action" => hashtrail_action(kind), "targets" => hashtrail_targets }
        ev["category"] = hashtrail_opts[:category].to_s if hashtrail_opts[:category]
        ev["changes"] = changes unless changes.empty?
        meta = hashtrail_opts[:metadata]&.call(self)
        ev["metadata"] = meta if meta && !meta.empty?
        Hashtrail::Rails.record(ev)
      end
    end

    def hashtrail_forget_pending
      hashtrail_pending.clear
    end

    def hashtrail_targets
      [Hashtrail::Audited.target_for(self), *Array(hashtrail_parents).compact.map { |p| Hashtrail::Audited.target_for(p) }]
    end

    def hashtrail_parents
      parent = hashtrail_opts[:parent]
      case parent
      when nil then []
      when Proc then parent.call(self)
      else public_send(parent)
      end
    end

    # target_for turns a record (or a target hash) into a target: an
    # Audited record by its own type, others by their model name.
    def self.target_for(rec)
      return Hashtrail.stringify(rec) if rec.is_a?(Hash)

      opts = rec.respond_to?(:hashtrail_audit) ? rec.hashtrail_audit : {}
      type = (opts[:as] || rec.model_name.singular).to_s
      id = rec.public_send(opts[:id] || :id).to_s
      name_attr = opts[:name] || :name
      name = rec.respond_to?(name_attr) ? rec.public_send(name_attr)&.to_s : nil
      { "type" => type, "id" => id, "name" => name == id ? nil : name }.compact
    end
  end
end
