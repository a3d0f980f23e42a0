# frozen_string_literal: true

module Hashtrail
  # SecretName is the project's one rule for names that hold secrets, the
  # same as the Go root package's hashtrail.SecretName (secret.go): Diff
  # redacts fields by it and `hashtrail run` redacts arguments, headers and
  # environment variables by it.
  module SecretName
    # Words that make a name secret (also in the plural).
    WORDS = %w[
      password passwd passphrase passcode pwd pass secret token key credential cookie
      bearer pin otp salt signature apikey privatekey secretkey accesskey sshkey
      signingkey masterkey encryptionkey privkey
    ].to_h { |w| [w, true] }.freeze
    # Run-together words ending in one of these are secret (authtoken, dbpassword).
    SUFFIXES = %w[password passwd passphrase secret token credential].freeze
    # Any of these words makes a name public (public_key).
    PUBLIC = %w[public publishable].to_h { |w| [w, true] }.freeze
    # As the last word, these describe a secret rather than hold it (key_id).
    META = %w[
      id ids uuid name names type kind hint prefix suffix count length len at time date
      expiry expires expiration ttl version url uri algorithm alg policy enabled required
      set present rotated changed updated created scope scopes format label fingerprint
      status file path dir
    ].to_h { |w| [w, true] }.freeze
    # Whole names (exact case) that are never secret: the shell's directories.
    NOT_SECRET = { "PWD" => true, "OLDPWD" => true }.freeze

    # CACHE remembers answers for the names an app uses (bounded).
    CACHE = {}
    CACHE_LIMIT = 10_000

    module_function

    # secret? reports whether a field, header or variable called +name+
    # holds a secret whose value must never be recorded.
    def secret?(name)
      name = name.to_s
      hit = CACHE[name]
      return hit unless hit.nil?

      answer = decide(name)
      CACHE.clear if CACHE.size >= CACHE_LIMIT
      CACHE[name.frozen? ? name : name.dup.freeze] = answer
    end

    # decide applies the rule to one name (secret? caches it).
    def decide(name)
      return false if NOT_SECRET[name]

      ws = words(name)
      last = ws.length - 1
      last -= 1 while last >= 0 && ws[last].match?(/\A\p{Nd}+\z/)
      return false if last.negative? || META[ws[last]]

      found = false
      ws.each do |w|
        return false if PUBLIC[w]

        found ||= secret_word?(w)
      end
      found
    end

    # secret_word? reports whether one lowercase word holds a secret.
    def secret_word?(word)
      [word, word.delete_suffix("s")].any? do |form|
        WORDS[form] || SUFFIXES.any? { |s| form.length > s.length && form.end_with?(s) }
      end
    end

    # words splits name into lowercase words: at every character that is
    # neither a letter nor a digit, between letters and digits, at a change
    # from lower to upper case, and before the last capital of an acronym
    # followed by lower case that is more than a plural s.
    def words(name)
      out = []
      cur = +""
      chars = name.chars
      prev = nil
      chars.each_with_index do |c, i|
        if !letter?(c) && !digit?(c)
          out << cur.downcase unless cur.empty?
          cur = +""
        elsif cur.empty?
          cur << c
        elsif digit?(c) != digit?(prev) ||
              (upper?(c) && lower?(prev)) ||
              (upper?(c) && upper?(prev) && starts_lower_word?(chars[i + 1], chars[i + 2]))
          out << cur.downcase
          cur = +c
        else
          cur << c
        end
        prev = c
      end
      out << cur.downcase unless cur.empty?
      out
    end

    def starts_lower_word?(first, second)
      return false unless first && lower?(first)

      first != "s" || (second && lower?(second))
    end

    def letter?(c) = c.match?(/\p{L}/)
    def digit?(c) = c.match?(/\p{Nd}/)
    def upper?(c) = c.match?(/\p{Lu}/)
    def lower?(c) = c.match?(/\p{Ll}/)
  end
end
