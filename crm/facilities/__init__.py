"""Facilities (jails), their housing units, rooms and the rules visitors must know."""
