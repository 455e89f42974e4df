"""GameDay drills: a scripted incident, simulated responders, and a scorecard at the end."""
