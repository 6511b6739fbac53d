#!/usr/bin/env python3
"""BASELINE: a Python reference client for the streaming benchmark, standard library only
(http.client, json). It pages through the candidates the plain way (pagenum, pages of
PAGE_SIZE, sorted by last update, one kept-alive connection) and reads the same fields as
bench/stream_client.lua: id, name, email and last-updated time.

usage: python3 bench/baseline_python.py URL APIKEY USERNAME PAGE_SIZE
stderr: "BENCH start" before the first request, "BENCH end N CHECK" after the last record.
"""
import http.client
import json
import sys
import urllib.parse


def main():
    url, key, user, page = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    u = urllib.parse.urlsplit(url)
    sys.stderr.write("BENCH start\n")
    sys.stderr.flush()
    conn = http.client.HTTPConnection(u.hostname, u.port)
    n = check = 0
    pagenum = 0
    while True:
        body = json.dumps({"trackerrms": {"getRecords": {
            "credentials": {"apikey": key, "username": user},
            "instructions": {"recordtype": "R", "numrecords": page, "pagenum": pagenum,
                             "sortfield": "lastupdateddatetime", "sortdir": "asc",
                             "updatedafter": "", "updatedbefore": "",
                             "includecustomfields": True}}}})
        conn.request("POST", "/api/widget/getRecords", body,
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        if resp.status != 200:
            sys.exit("getRecords: HTTP %d" % resp.status)
        doc = json.loads(resp.read())
        results = doc["results"]
        for item in results:
            n += 1
            d = item.get("details") or {}
            check += (item["id"] + (1 if item.get("name") else 0)
                      + (1 if d.get("email") else 0)
                      + (1 if item.get("lastupdateddatetime") else 0))
        if len(results) < page:
            break
        pagenum += 1
    conn.close()
    sys.stderr.write("BENCH end %d %d\n" % (n, check))
    sys.stderr.flush()


if __name__ == "__main__":
    main()
