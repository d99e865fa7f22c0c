#!/usr/bin/env python3
"""Load test for Slack slash commands: sends correctly signed `/earliest-start` commands to a
running `keepable serve` at a fixed rate (open loop: a slow answer does not slow the senders) and
prints the latency of Slack's acknowledgement: p50 / p90 / p99 / max, and how many answers were
not ready inline ("Working on it", followed on the response_url).

    SLACK_SIGNING_SECRET=… python3 scripts/slack_load.py --url http://127.0.0.1:3000 \\
        --rate 20 --duration 30 --text crm-rollout

Python 3 standard library only.
"""

import argparse
import concurrent.futures
import hashlib
import hmac
import json
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


def signed_request(url, secret, form):
    """A POST signed like Slack: v0=HMAC-SHA256(secret, "v0:{ts}:{body}")."""
    body = urllib.parse.urlencode(form).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + digest,
    }
    return urllib.request.Request(url, data=body, headers=headers, method="POST")


def one_command(args, number):
    """Sends command `number`; returns (seconds, status, inline answer?)."""
    form = {
        "token": "load-test",
        "team_id": "T0001",
        "team_domain": "example",
        "channel_id": "C-LOAD%d" % (number % 50),
        "channel_name": "load",
        "user_id": "U-LOAD%d" % (number % 200),
        "user_name": "seller",
        "command": args.command,
        "text": args.text,
        "response_url": args.response_url,
        "trigger_id": "%d.1.load" % number,
        "api_app_id": "A0001",
    }
    request = signed_request(args.url.rstrip("/") + "/slack/commands", args.secret, form)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            payload = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        return time.perf_counter() - started, error.code, False
    except Exception as error:  # noqa: BLE001 - any failure counts as one
        return time.perf_counter() - started, "error: %s" % type(error).__name__, False
    elapsed = time.perf_counter() - started
    try:
        answer = json.loads(payload or b"null") or {}
    except ValueError:
        answer = {}
    inline = bool(answer.get("blocks")) and "Working on it" not in answer.get("text", "")
    return elapsed, status, inline


def percentile(sorted_values, p):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return float("nan")
    rank = p / 100 * (len(sorted_values) - 1)
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000", help="where keepable serve listens")
    parser.add_argument("--secret", default=os.environ.get("SLACK_SIGNING_SECRET"), help="default: $SLACK_SIGNING_SECRET")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds")
    parser.add_argument("--command", default="/earliest-start")
    parser.add_argument("--text", default="crm-rollout", help="the command's text")
    parser.add_argument("--response-url", default="http://127.0.0.1:9/response", help="where late answers would go")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    if not args.secret:
        sys.exit("set SLACK_SIGNING_SECRET or pass --secret")

    total = int(args.rate * args.duration)
    results = []
    lock = threading.Lock()
    max_lag = 0.0

    def run(number):
        outcome = one_command(args, number)
        with lock:
            results.append(outcome)

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(8, int(args.rate * 3))) as pool:
        for number in range(total):
            due = start + number / args.rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            max_lag = max(max_lag, time.perf_counter() - due)
            pool.submit(run, number)
    wall = time.perf_counter() - start

    latencies = sorted(seconds for seconds, status, _ in results if status == 200)
    failures = [status for _, status, _ in results if status != 200]
    inline = sum(1 for _, status, answered in results if status == 200 and answered)
    ms = lambda seconds: "%.1f ms" % (seconds * 1000)  # noqa: E731
    print("%s %r at %.0f req/s for %.0f s: %d sent in %.1f s (sender lag at most %s)"
          % (args.command, args.text, args.rate, args.duration, total, wall, ms(max_lag)))
    print("acknowledged 200: %d, answered inline: %d, failed: %d %s"
          % (len(latencies), inline, len(failures), sorted(set(map(str, failures)))[:5]))
    if latencies:
        print("latency p50 %s  p90 %s  p99 %s  max %s  mean %s" % (
            ms(percentile(latencies, 50)), ms(percentile(latencies, 90)), ms(percentile(latencies, 99)),
            ms(latencies[-1]), ms(statistics.fmean(latencies))))
        print("within Slack's 3 s: %d of %d" % (sum(1 for s in latencies if s < 3.0), total))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
