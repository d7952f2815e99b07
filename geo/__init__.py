"""gridpatrol geo package: the pure patrol-verification engine (see docs/geo.md).

Entry points: ``geo.engine.evaluate_days`` / ``evaluate_day`` / ``day_result_to_json``,
``geo.crs.to_wgs84`` / ``from_wgs84``, ``geo.calendar.is_working_day``,
``geo.arrival.arrival_time``. Contract types: ``geo.types``.
"""
