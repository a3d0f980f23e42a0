# frozen_string_literal: true

Rails.application.routes.draw do
  get "/login", to: "sessions#new"
  post "/login", to: "sessions#create"
  delete "/logout", to: "sessions#destroy"
  get "/activity", to: "activities#index"
  resources :servers, only: %i[index create update destroy], param: :name do
    resources :deploy_keys, only: %i[create destroy]
  end
  resources :apps, only: %i[index show create destroy], param: :name do
    resources :env_vars, only: %i[create update destroy], param: :name
    resources :domains, only: %i[create destroy]
    resource :certificate, only: %i[update]
    resource :backup, only: %i[update]
    resources :deploys, only: %i[create]
  end
  root to: "activities#index"
end
