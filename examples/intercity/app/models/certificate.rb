# frozen_string_literal: true

# Certificate is an app's TLS setup: Let's Encrypt, or an uploaded
# certificate whose private key is never recorded (SecretName redacts
# private_key).
class Certificate < ApplicationRecord
  include Hashtrail::Audited
  audited as: "certificate", parent: :app, category: :security, except: %i[app_id],
          actions: { create: "app.certificate_update", update: "app.certificate_update", destroy: "app.certificate_remove" }

  belongs_to :app
end
