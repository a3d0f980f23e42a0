# frozen_string_literal: true

# CertificatesController turns Let's Encrypt on or off, or uploads a
# certificate and its private key.
class CertificatesController < ApplicationController
  def update
    cert = app.certificate || app.build_certificate
    attrs = params.permit(:letsencrypt, :certificate, :private_key)
    attrs[:expires_at] = 90.days.from_now.change(usec: 0) if ActiveModel::Type::Boolean.new.cast(attrs[:letsencrypt])
    cert.update!(attrs)
    redirect_to app_path(app), status: :see_other
  end
end
