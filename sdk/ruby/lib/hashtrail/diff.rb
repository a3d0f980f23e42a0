# frozen_string_literal: true

require "json"
require_relative "secret_name"

module Hashtrail
  # REDACTED is the value that stands for a secret in messages and views.
  REDACTED = "[redacted]"

  module_function

  # diff returns an event's "changes" from two hashes (or objects with
  # #attributes or #to_h; nil is empty): [{"field", "old", "new"}] for each
  # field that differs, nested hashes walked into dotted paths
  # ("address.city"), other values compared whole. A field on one side
  # only has no "old" (added) or no "new" (removed). A secret field
  # (SecretName, or named in +secret+) that changed is {"field" =>
  # "password", "redacted" => true} with neither value. +skip+ leaves fields
  # out; +all+ lists unchanged fields too. Keys come sorted.
  def diff(before, after, secret: [], skip: [], all: false)
    secret = secret.map(&:to_s)
    skip = skip.map(&:to_s)
    out = []
    diff_into(out, "", plain(before), plain(after), secret, skip, all)
    out
  end

  def plain(obj)
    h = if obj.nil? then {}
        elsif obj.is_a?(Hash) then obj
        elsif obj.respond_to?(:attributes) then obj.attributes
        elsif obj.respond_to?(:to_h) then obj.to_h
        else raise ArgumentError, "Hashtrail.diff: #{obj.class} is not a hash"
        end
    h.transform_keys(&:to_s)
  end
  private_class_method :plain

  def diff_into(out, prefix, old, new, secret, skip, all)
    (old.keys | new.keys).sort.each do |key|
      path = prefix.empty? ? key : "#{prefix}.#{key}"
      next if skip.include?(key) || skip.include?(path)

      has_old = old.key?(key)
      has_new = new.key?(key)
      o = old[key]
      n = new[key]
      if secret.include?(key) || secret.include?(path) || SecretName.secret?(key)
        out << { "field" => path, "redacted" => true } if !same?(o, n) || has_old != has_new
        next
      end
      if (o.is_a?(Hash) || !has_old) && (n.is_a?(Hash) || !has_new) && (o.is_a?(Hash) || n.is_a?(Hash))
        diff_into(out, path, (o || {}).transform_keys(&:to_s), (n || {}).transform_keys(&:to_s), secret, skip, all)
        next
      end
      next if has_old == has_new && same?(o, n) && !all

      change = { "field" => path }
      change["old"] = jsonable(o) if has_old
      change["new"] = jsonable(n) if has_new
      out << change
    end
  end
  private_class_method :diff_into

  def same?(a, b) = a == b || jsonable(a) == jsonable(b)
  private_class_method :same?

  # jsonable turns a value into what JSON holds: times as RFC 3339 with
  # microseconds, symbols and other objects by their JSON form.
  def jsonable(v)
    case v
    when nil, true, false, String, Integer then v
    when Float then v.finite? ? v : v.to_s
    when Symbol then v.to_s
    when Hash then v.to_h { |k, x| [k.to_s, jsonable(x)] }
    when Array then v.map { |x| jsonable(x) }
    when Time then v.utc.strftime("%Y-%m-%dT%H:%M:%S.%6NZ")
    else
      if v.respond_to?(:to_time) && !v.is_a?(Numeric) then jsonable(v.to_time)
      elsif v.is_a?(Numeric) then v.to_f
      else v.to_s
      end
    end
  end
end
