"""Captures a backend exception with PostHog's Python SDK, pointed at Tether.

Usage: send_exception.py HOST TOKEN SESSION_ID DISTINCT_ID
"""

import sys

from posthog import Posthog


def charge_card(amount: int) -> None:
    raise ValueError(f"card declined for amount {amount}")


def main() -> None:
    host, token, session_id, distinct_id = sys.argv[1:5]
    client = Posthog(token, host=host, sync_mode=True, max_retries=0)
    try:
        charge_card(4200)
    except ValueError as error:
        client.capture_exception(error, distinct_id=distinct_id, properties={"$session_id": session_id})
    client.flush()
    client.shutdown()


if __name__ == "__main__":
    main()
