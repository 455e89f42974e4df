"""(handoff: events arrive with their feature.)"""
