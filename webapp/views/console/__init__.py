"""The association console: what a coordinator runs the association's day with. Every
view is for active coordinators of the association only (`coordinator_required`)."""
