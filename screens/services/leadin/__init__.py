"""Lead-in screens: coupon state, ranking, training and analytics."""
