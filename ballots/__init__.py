"""Opinion ballots ("phiếu lấy ý kiến"): issue, signed answers, tally, signed report, export."""

from flask import Flask

from ballots import models  # noqa: F401  (tables register with the metadata)
from ecabinet import keystore  # noqa: F401


def init_app(app: Flask) -> None:
    from ballots import cli, sockets, web
    from ballots.views import api

    app.register_blueprint(api)
    app.register_blueprint(web.web)
    web.register_home_section()
    sockets.register()
    cli.register()
    from ballots.demo import demo_step
    from ecabinet.demo import DEMO_STEPS

    if demo_step not in DEMO_STEPS:
        DEMO_STEPS.append(demo_step)
    from ballots.service import start_ballot_scheduler
    from ecabinet import add_background_task

    add_background_task(app, start_ballot_scheduler)
