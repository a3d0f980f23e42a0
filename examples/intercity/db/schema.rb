# frozen_string_literal: true

ActiveRecord::Schema.define(version: 1) do
  create_table :users, force: true do |t|
    t.string :email, null: false, index: { unique: true }
    t.string :name
    t.string :password_digest, null: false
    t.timestamps
  end
  create_table :servers, force: true do |t|
    t.string :name, null: false, index: { unique: true }
    t.string :ip, null: false
    t.string :status, null: false, default: "online"
    t.timestamps
  end
  create_table :deploy_keys, force: true do |t|
    t.references :server, null: false
    t.string :name, null: false
    t.text :public_key, null: false
    t.string :fingerprint, null: false
    t.timestamps
  end
  create_table :apps, force: true do |t|
    t.references :server, null: false
    t.string :name, null: false, index: { unique: true }
    t.timestamps
  end
  create_table :env_vars, force: true do |t|
    t.references :app, null: false
    t.string :name, null: false
    t.text :value
    t.timestamps
    t.index %i[app_id name], unique: true
  end
  create_table :domains, force: true do |t|
    t.references :app, null: false
    t.string :name, null: false, index: { unique: true }
    t.timestamps
  end
  create_table :certificates, force: true do |t|
    t.references :app, null: false, index: { unique: true }
    t.boolean :letsencrypt, null: false, default: false
    t.text :certificate
    t.text :private_key
    t.datetime :expires_at
    t.timestamps
  end
  create_table :backups, force: true do |t|
    t.references :app, null: false, index: { unique: true }
    t.boolean :enabled, null: false, default: false
    t.string :schedule, null: false, default: "daily"
    t.integer :keep, null: false, default: 7
    t.timestamps
  end
  create_table :deploys, force: true do |t|
    t.references :app, null: false
    t.references :user
    t.string :revision, null: false
    t.integer :exit_code
    t.timestamps
  end
end
