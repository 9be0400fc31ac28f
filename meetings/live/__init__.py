"""The live session room: attendance, agenda progress, speakers, votes, conclusions."""

from flask import Flask

from meetings.live import models  # noqa: F401  (tables register with the metadata)


def init_app(app: Flask) -> None:
    from meetings.live.views import api
    from meetings.live.web import web

    app.register_blueprint(api)
    app.register_blueprint(web)
