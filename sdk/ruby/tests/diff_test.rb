# frozen_string_literal: true

require_relative "helper"

# Hashtrail.diff and the secret-name rule, checked against the Go rule's
# own test table (secret_test.go at the repository's root), so both SDKs
# redact exactly the same names.
class DiffTest < Minitest::Test
  GO_TABLE = File.expand_path("../../../secret_test.go", __dir__)

  def go_cases
    src = File.read(GO_TABLE)
    body = src[/func TestSecretName.*?\n\}\n/m]
    body.scan(/\{\[\]string\{(.*?)\},\s*(true|false)\}/m).map do |names, want|
      [names.scan(/"((?:[^"\\]|\\.)*)"/).flatten, want == "true"]
    end
  end

  def test_secret_name_matches_the_go_rule
    skip "#{GO_TABLE} not found (the gem outside its repository)" unless File.exist?(GO_TABLE)
    cases = go_cases
    assert_operator cases.sum { |names, _| names.size }, :>=, 90
    cases.each do |names, want|
      names.each { |n| assert_equal want, Hashtrail::SecretName.secret?(n), "SecretName(#{n.inspect})" }
    end
  end

  def test_diff_fields_added_removed_nested
    before = { name: "web", port: 80, address: { city: "Delft", zip: "2611" }, gone: 1 }
    after = { name: "web-1", port: 80, address: { city: "Utrecht", zip: "2611" }, added: true }
    assert_equal [
      { "field" => "added", "new" => true },
      { "field" => "address.city", "old" => "Delft", "new" => "Utrecht" },
      { "field" => "gone", "old" => 1 },
      { "field" => "name", "old" => "web", "new" => "web-1" }
    ], Hashtrail.diff(before, after)
  end

  def test_diff_redacts_secrets
    before = { "DATABASE_PASSWORD" => "hunter2", apiKey: "a", token_id: "t1", ssn: "1", note: "x",
               credentials: { user: "u", pass: "p" } }
    after = { "DATABASE_PASSWORD" => "hunter3", apiKey: "a", token_id: "t2", ssn: "2", note: "x",
              credentials: { user: "v", pass: "p" } }
    changes = Hashtrail.diff(before, after, secret: [:ssn])
    assert_equal [
      { "field" => "DATABASE_PASSWORD", "redacted" => true },
      { "field" => "credentials", "redacted" => true },
      { "field" => "ssn", "redacted" => true },
      { "field" => "token_id", "old" => "t1", "new" => "t2" }
    ], changes
    refute_match(/hunter|"p"/, JSON.generate(changes))
  end

  def test_diff_skip_all_and_objects
    klass = Struct.new(:name, :updated_at)
    t = Time.utc(2026, 1, 2, 3, 4, 5, 6)
    changes = Hashtrail.diff(klass.new("a", t), klass.new("a", t + 1), all: true, skip: [:nothing])
    assert_equal({ "field" => "name", "old" => "a", "new" => "a" }, changes[0])
    assert_equal "2026-01-02T03:04:05.000006Z", changes[1]["old"]
    assert_empty Hashtrail.diff(nil, {})
    assert_equal [{ "field" => "a", "new" => 1 }], Hashtrail.diff(nil, { a: 1 })
    assert_empty Hashtrail.diff({ a: 1, b: 2 }, { a: 1, b: 3 }, skip: ["b"])
  end
end
