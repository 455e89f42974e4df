"""(decisions: events arrive with their feature.)"""
