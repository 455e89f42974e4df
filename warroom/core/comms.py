"""(comms: events arrive with their feature.)"""
