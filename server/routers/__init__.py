"""HTTP routers; each module exposes ``router`` (included by :func:`server.app.create_app`)."""
