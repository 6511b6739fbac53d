#!/usr/bin/env python3
"""BASELINE: the whole job of bench/rules.sh written the plain sequential way in Python,
standard library only (http.client, json): one request at a time, each change written as soon
as it is found. It does what `trk rules` does with these three example rules:

  examples/rules/interview_note.lua   applications in Interview whose "Interview Note Sent" is
                                      not "Yes": a note (subject "Interview"), then the field
                                      set to "Yes"
  examples/rules/score_routing.lua    applications in Screening with "Recruiter Score" >= 8:
                                      read the application again, and if it is still in
                                      Screening, move it to "Submitted to Client" and note it
  examples/rules/duplicate_email.lua  candidates sharing an email (any case): every one but the
                                      oldest gets the candidate field "Duplicate Of" = the oldest's
                                      id and a note, unless it already names it

Applications are paged through the REST API by number, in id order, within the window
updatedAfter = SINCE (pages of 500: a write does not move an application in that order);
candidates through the widget API (getRecords, pages of 500, until an empty one). Either
emulator dialect: where /PagedSearch answers 404 (evidence), /Search (10 rows a page, until
totalRecords) with a GET of each application whose custom fields a rule reads (in Interview or
Screening), and the stages from TRACKER_STAGES ("Name=id;...") where the settings list none.

usage: python3 bench/baseline_python_job.py URL APIKEY USERNAME API_TOKEN SINCE
       python3 bench/baseline_python_job.py --summary URL     (with `trk emulator --admin`)
prints on stdout: "writes N" (the summary mode: a digest of the emulator's state).
"""
import hashlib
import http.client
import json
import os
import sys
import urllib.parse

INTERVIEW_SENT, SCORE = "Interview Note Sent", "Recruiter Score"
DUP_FIELD = "Duplicate Of"


class Tracker:
    def __init__(self, url, key, user, token):
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port)
        self.creds = {"apikey": key, "username": user}
        self.token = token
        self.jwt = None
        self.writes = 0

    def call(self, method, path, body, headers=None, missing=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        self.conn.request(method, path, json.dumps(body) if body is not None else None, h)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status == 404 and missing is not None:
            return missing
        if resp.status != 200:
            sys.exit("%s %s: HTTP %d" % (method, path, resp.status))
        return json.loads(data)

    def widget(self, verb, instructions, **nodes):
        inner = {"credentials": self.creds, "instructions": instructions}
        inner.update(nodes)
        doc = self.call("POST", "/api/widget/" + verb, {"trackerrms": {verb: inner}})
        if doc.get("status") != 0:
            sys.exit("%s: widget status %s: %s" % (verb, doc.get("status"), doc.get("message")))
        if verb not in ("getRecords", "getIndividualRecord", "getSettingsData"):
            self.writes += 1
        return doc

    def rest(self, method, path, body=None, missing=None):
        if self.jwt is None:
            self.jwt = self.call("POST", "/api/Auth/ExchangeToken",
                                 {"bearerToken": self.token})["token"]
        return self.call(method, path, body, {"Authorization": "Bearer " + self.jwt}, missing)

    def applications(self, since):
        page, seen = 1, 0
        route = "PagedSearch"
        while True:
            doc = self.rest("POST", "/api/v1/OpportunityResource/" + route,
                            {"pageNumber": page, "pageSize": 500, "updatedAfter": since},
                            missing=False)
            if doc is False:                # no PagedSearch: the seen /Search (§9.7)
                route = "Search"
                continue
            if route == "Search":
                rows = doc["data"]
                yield from rows
                seen += len(rows)
                if not rows or seen >= doc["totalRecords"]:
                    return
            else:
                yield from doc["opportunityResources"]
                if not doc.get("hasNextPage"):
                    return
            page += 1

    def candidates(self):
        page = 0
        while True:
            doc = self.widget("getRecords", {"recordtype": "R", "numrecords": 500,
                                             "pagenum": page, "sortfield": "id",
                                             "includecustomfields": True})
            yield from doc["results"]
            if not doc["results"]:
                return
            page += 1

    def note(self, link, subject, text):
        self.widget("createActivity", {}, activity=dict(subject=subject, note=text, **link))

    def update(self, letter, rid, updates=None, custom=None):
        nodes = {}
        if updates:
            nodes["updates"] = [{"column": c, "value": v} for c, v in updates]
        if custom:
            nodes["customfields"] = [{"id": i, "value": v} for i, v in custom]
        self.widget("updateRecord", {"recordtype": letter, "recordid": rid}, **nodes)


def job(url, key, user, token, since):
    t = Tracker(url, key, user, token)
    settings = t.widget("getSettingsData", {})
    stage_id = {s["Name"]: s["Id"] for s in settings.get("opportunityResourceStatuses") or []}
    if not stage_id:                    # the settings list no stages (§9.2)
        stage_id = {name: int(i) for name, i in
                    (p.split("=") for p in os.environ["TRACKER_STAGES"].split(";"))}
    field_id = {f["Name"]: f["Id"] for f in settings["customFields"]
                if f["Association"] == "OpportunityResource"}
    dup_field = [f["Id"] for f in settings["customFields"]
                 if f["Association"] == "Resource" and f["Name"] == DUP_FIELD][0]

    for a in t.applications(since):
        stage = a["opportunityResourceStatusName"]
        if "customFields" not in a and stage in ("Interview", "Screening"):
            a = t.rest("GET", "/api/v1/OpportunityResource/%d" % a["opportunityResourceId"])
        custom = {f["name"]: f["value"] for f in a.get("customFields") or []}
        aid = a["opportunityResourceId"]
        link = {"linkRecordType": "R", "linkRecordId": a["resourceId"],
                "opportunityId": a["opportunityId"], "opportunityResourceId": aid}
        # interview-note
        if stage == "Interview" and custom.get(INTERVIEW_SENT) != "Yes":
            text = ("%s is at the interview stage for %s. Send the interview guide and confirm "
                    "the panel." % (a.get("resourceDisplayAs") or "The candidate",
                                    a.get("opportunityName") or "this job"))
            t.note(link, "Interview", text)
            t.update("X", aid, custom=[(field_id[INTERVIEW_SENT], "Yes")])
        # score-routing
        score = custom.get(SCORE)
        try:
            score = float(score) if score not in (None, "") else None
        except ValueError:
            score = None
        if stage == "Screening" and score is not None and score >= 8:
            cur = t.rest("GET", "/api/v1/OpportunityResource/%d" % aid)
            if cur["opportunityResourceStatusId"] == stage_id["Screening"]:
                t.update("X", aid, updates=[("opportunityresourcestatusid",
                                             str(stage_id["Submitted to Client"]))])
                t.note(link, "Submitted to Client",
                       "Moved to Submitted to Client by score-routing: %s %g." % (SCORE, score))

    # duplicate-email
    groups = {}
    for c in t.candidates():
        email = (c.get("details") or {}).get("email")
        if email:
            groups.setdefault(email.lower(), []).append((c["id"], c.get("name")))
    for email, group in groups.items():
        if len(group) < 2:
            continue
        group.sort()
        oldest = group[0]
        for cid, name in group[1:]:
            rec = t.widget("getIndividualRecord", {"recordtype": "R", "recordid": cid})
            item = (rec.get("results") or [rec.get("result") or {}])[0]
            marked = {str(f.get("id")): f.get("value") for f in item.get("customfields") or []}
            if marked.get(str(dup_field)) == str(oldest[0]):
                continue
            t.update("R", cid, custom=[(dup_field, str(oldest[0]))])
            t.note({"linkRecordType": "R", "linkRecordId": cid}, "Possible duplicate",
                   "Possible duplicate of candidate %d (%s): same email %s."
                   % (oldest[0], oldest[1], email))
    print("writes %d" % t.writes)


def summary(url):
    """A digest of what the writes changed, blind to ids and times the run itself made."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    conn.request("GET", "/_emulator/state")
    state = json.loads(conn.getresponse().read())
    lines = []
    for kind, recs in sorted(state.items()):
        if not isinstance(recs, list):
            continue
        for r in recs:
            if not isinstance(r, dict):
                continue
            r = {k: v for k, v in r.items()
                 if k not in ("lastupdated", "created", "datecreated", "dateupdated")}
            if kind == "activities":
                r.pop("id", None)
                r = {k: v for k, v in r.items() if k not in ("date", "time", "startdate",
                                                             "starttime")}
            lines.append(kind + " " + json.dumps(r, sort_keys=True))
    lines.sort()
    print("%d records, digest %s" % (len(lines),
                                    hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]))


if __name__ == "__main__":
    if sys.argv[1] == "--summary":
        summary(sys.argv[2])
    else:
        job(*sys.argv[1:6])
