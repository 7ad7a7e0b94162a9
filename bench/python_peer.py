#!/usr/bin/env python3
# The Python peer of issue #8: what a user would write instead of running
# hss-jobwatch -- page through ListK8sJobs with urllib (TLS verified against
# the given CA), json.loads each page, and diff the new dict of jobs against
# the previous one. Standard library only, deliberately the obvious code.
#
# Each walk prints one JSON line on stderr with its CPU seconds (user+sys of
# this process), wall time, requests, jobs and event counts; events go to
# stdout as JSON lines (the driver sends them to /dev/null). The last line
# on stderr carries the process's peak RSS.
import argparse
import http.client
import json
import resource
import ssl
import sys
import time
import urllib.parse
import urllib.request


def urllib_fetcher(tls, token):
    # urllib closes the connection after each response: one TLS handshake
    # per page, as most scripts do it.
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=tls))

    def fetch(url):
        req = urllib.request.Request(url, headers={"X-Auth-Token": token})
        with opener.open(req, timeout=60) as resp:
            return json.loads(resp.read())
    return fetch


def keepalive_fetcher(tls, token, endpoint):
    # --keep-alive: one http.client connection reused for every page.
    host, port = urllib.parse.urlsplit(endpoint).hostname, urllib.parse.urlsplit(endpoint).port
    conn = http.client.HTTPSConnection(host, port, context=tls, timeout=60)

    def fetch(url):
        parts = urllib.parse.urlsplit(url)
        conn.request("GET", parts.path + "?" + parts.query, headers={"X-Auth-Token": token})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {body[:200]!r}")
        return json.loads(body)
    return fetch


def walk(fetch, args):
    # Plain offset paging, page after page, as the API documents it.
    jobs, offset, requests = {}, 0, 0
    while True:
        url = (f"{args.endpoint}/v5/{args.project}/kubernetes/jobs"
               f"?limit={args.page_size}&offset={offset}")
        page = fetch(url)
        requests += 1
        for job in page.get("job_info_list") or []:
            jobs[(job["cluster_name"], job["namespace_name"], job["name"])] = job
        offset += args.page_size
        if offset >= page["total_num"]:
            return jobs, requests


def diff(before, after, out):
    events = 0
    for key, job in after.items():
        old = before.get(key)
        if old is None:
            kind = "added"
        elif old != job:
            kind = "replaced" if old.get("create_time") != job.get("create_time") else "modified"
        else:
            continue
        out.write(json.dumps({"type": kind, "key": key, "job": job, "previous": old}) + "\n")
        events += 1
    for key, old in before.items():
        if key not in after:
            out.write(json.dumps({"type": "removed", "key": key, "previous": old}) + "\n")
            events += 1
    return events


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--ca", required=True, help="CA bundle that signed the server certificate")
    ap.add_argument("--token", required=True)
    ap.add_argument("--project", default="p1")
    ap.add_argument("--page-size", type=int, default=200)
    ap.add_argument("--walks", type=int, default=2)
    ap.add_argument("--keep-alive", action="store_true", help="reuse one connection (http.client)")
    args = ap.parse_args()

    tls = ssl.create_default_context(cafile=args.ca)  # verify_peer + host name
    fetch = (keepalive_fetcher(tls, args.token, args.endpoint) if args.keep_alive
             else urllib_fetcher(tls, args.token))
    previous = {}
    for n in range(args.walks):
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        current, requests = walk(fetch, args)
        events = diff(previous, current, sys.stdout)
        previous = current
        print(json.dumps({"walk": n + 1, "cpu_s": round(cpu_seconds() - cpu0, 3),
                          "wall_s": round(time.monotonic() - wall0, 3), "requests": requests,
                          "jobs": len(current), "events": events}), file=sys.stderr, flush=True)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_rss_mb": round(peak_kb / 1024, 1)}), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
