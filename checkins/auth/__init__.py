"""Who may do what: phone devices and tokens, office users and sessions, throttles."""
