"""The versioned URL prefix of the mobile API (see mobile_api_spec/README.md)."""

MOBILE_PREFIX = "/api/mobile/v1"
