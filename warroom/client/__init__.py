"""The console's link to the hub: sync, outbox and reconnects. No UI here."""
