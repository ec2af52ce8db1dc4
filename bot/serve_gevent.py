"""Where `dailies serve` runs gunicorn: a fresh interpreter in which gevent patches the standard library first.

gevent must patch before redis, Bolt and slack_sdk import names from `ssl` and `socket`; gunicorn's workers
patch only after the process that started them has imported those, and an unpatched SSLContext would block a
worker's event loop on every HTTPS call to Slack. `dailies serve` checks the settings and Redis, then replaces
itself with this module (same process id, so signals reach gunicorn's master).
"""

from gevent import monkey

monkey.patch_all()

import logging  # noqa: E402
import sys  # noqa: E402

from bot.server import run_gunicorn  # noqa: E402
from jobs.infra.logs import configure_logging  # noqa: E402
from jobs.infra.settings import load_settings  # noqa: E402


def main(argv: list[str]) -> None:
    host, port, workers, level = argv[0], int(argv[1]), int(argv[2]), argv[3]
    settings = load_settings()
    configure_logging(level, settings.secret_values(), settings.log_format)
    logging.captureWarnings(True)
    run_gunicorn(host=host, port=port, workers=workers)


if __name__ == "__main__":
    main(sys.argv[1:])
