"""Cases (事件): reports from the phone, acceptance and dispatch by the office, instructions
to workers with a place and a deadline, arrival and resolution (NB-ARRIVE, NB-VOLUME,
YK-CASE-SLA). Above ``field`` (it reuses its photo checks), below ``evaluation``.
"""
