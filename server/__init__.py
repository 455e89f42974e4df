"""The warroom hub: the authority that validates, stores and broadcasts every incident event."""
