# frozen_string_literal: true

require "openssl"

# User is a member of the Intercity team. Passwords are kept as PBKDF2
# digests (the standard library's OpenSSL; Debian has no bcrypt gem here).
class User < ApplicationRecord
  ITERATIONS = 100_000

  validates :email, presence: true, uniqueness: true

  # password= stores a salted digest of the password.
  def password=(password)
    salt = SecureRandom.hex(16)
    self.password_digest = "pbkdf2$#{ITERATIONS}$#{salt}$#{self.class.digest(password, salt, ITERATIONS)}"
  end

  # authenticate reports whether password is this user's.
  def authenticate(password)
    _, iter, salt, want = password_digest.to_s.split("$")
    got = self.class.digest(password.to_s, salt.to_s, iter.to_i)
    ActiveSupport::SecurityUtils.secure_compare(got, want.to_s)
  end

  def self.digest(password, salt, iterations)
    OpenSSL::KDF.pbkdf2_hmac(password, salt: salt, iterations: iterations, length: 32, hash: "sha256").unpack1("H*")
  end
end
