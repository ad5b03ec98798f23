"""The lead-in surface: rank a store's coupons for the crowd in front of a screen."""
