# frozen_string_literal: true

# ApplicationRecord is the base of Intercity's models.
class ApplicationRecord < ActiveRecord::Base
  self.abstract_class = true
end
