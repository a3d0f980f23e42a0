# frozen_string_literal: true

module Hashtrail
  # Thread#[] is fiber-local, so each request (thread or fiber) has its own
  # actor and context; the Rack middleware and with_actor set them.
  ACTOR_KEY = :__hashtrail_actor
  CONTEXT_KEY = :__hashtrail_context

  module_function

  # with_actor runs the block with +actor+ (a hash such as {type: "user",
  # id: "42"}, or a callable returning one) as the actor of every event
  # recorded inside it that names none.
  def with_actor(actor)
    prev = Thread.current[ACTOR_KEY]
    Thread.current[ACTOR_KEY] = actor
    yield
  ensure
    Thread.current[ACTOR_KEY] = prev
  end

  # with_context runs the block with +ctx+ (a hash of event context fields:
  # ip, user_agent, request_id, source...) merged over the current context.
  def with_context(ctx)
    prev = Thread.current[CONTEXT_KEY]
    Thread.current[CONTEXT_KEY] = (prev || {}).merge(stringify(ctx))
    yield
  ensure
    Thread.current[CONTEXT_KEY] = prev
  end

  # set_actor sets the actor for the rest of the current request (a login
  # handler that has just learnt who the user is).
  def set_actor(actor)
    Thread.current[ACTOR_KEY] = actor
  end

  # current_actor returns the actor of the current request or block, as a
  # hash with string keys, or nil.
  def current_actor
    a = Thread.current[ACTOR_KEY]
    a = a.call if a.respond_to?(:call)
    a && stringify(a)
  end

  # current_context returns the event context of the current request or
  # block, as a hash with string keys (empty when none).
  def current_context
    Thread.current[CONTEXT_KEY] || {}
  end

  # stringify returns a deep copy of a hash with string keys, leaving out
  # nil members (keep_nil: true keeps them, for change values and metadata).
  def stringify(v, keep_nil: false)
    case v
    when Hash
      v.each_with_object({}) { |(k, x), h| h[k.to_s] = stringify(x, keep_nil: keep_nil) unless x.nil? && !keep_nil }
    when Array then v.map { |x| stringify(x, keep_nil: keep_nil) }
    when Symbol then v.to_s
    else v
    end
  end
end
