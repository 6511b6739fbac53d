#!/usr/bin/env python3
"""The lower bound of a job's requests, and the requests a run made, for bench/requests.sh.

  count LOG FIRST             the requests in lines FIRST.. of `trk emulator --verbose`'s log
                              (1-based), by kind: prints
                              "total pages record_reads settings writes session"
  csv STATE N OUT             a CSV of 2N candidates for migrate.upsert_candidates: N of those
                              in STATE (a unique email each; a third as they are, a third with
                              a new job title, a third with a new job title and Priority, one
                              updateRecord each), and N new ones with a Priority
  bound BEFORE AFTER OPTIONS  the fewest requests that do the job which took the emulator's
                              state from BEFORE to AFTER (two GET /_emulator/state answers):
                              prints "total pages reads writes session" and, on stderr, what
                              each part counts

The bound, from the data alone (no part of trk's or the baseline's logic):
  pages    every stream the job must read, at the server's page cap: a stream with a total
           (REST search) ceil(n / cap) pages, at least 1; one without (widget getRecords)
           n // cap + 1, since only a short page ends it (tracker-api.md §5)
  reads    records whose fields the pages do not carry but the job must see: with
           --row-reads STAGES, every application in those stages (the evidence dialect's
           /Search rows have no custom fields, and the rules on those stages read them)
  writes   one request per record that changed (every change to it in one updateRecord:
           columns, custom fields and tags together), one per record created (a candidate with
           its custom fields is one createResource) and one per note or document added
  session  the REST token exchange (when the job reads applications) and the one metadata
           read (getSettingsData: the ids of stages and custom fields that writes name)
OPTIONS: --applications CAP   the job reads every application, at CAP a page (REST)
         --candidates CAP     the job reads every candidate, at CAP a page (widget)
         --row-reads STAGE,STAGE
"""
import json
import re
import sys

# fields the emulator sets on every write, whatever the write changed
TOUCHED = {"lastupdated", "dateupdated"}
RECORDS = ("candidates", "applications", "jobs", "clients", "contacts", "leads")
ADDED = ("activities", "documents")


def count(log, first):
    kinds = dict(pages=0, record_reads=0, settings=0, writes=0, session=0)
    with open(log) as f:
        for n, line in enumerate(f, 1):
            if n < first:
                continue
            parts = line.split()
            if len(parts) < 2 or parts[0] not in ("GET", "POST") or parts[1].startswith("/_"):
                continue
            path = parts[1]
            if re.search(r"OpportunityResource/(Paged)?Search$|widget/getRecords$", path):
                kinds["pages"] += 1
            elif re.search(r"OpportunityResource/\d+$|getIndividualRecord$|checkPerson$", path):
                kinds["record_reads"] += 1
            elif path.endswith("getSettingsData"):
                kinds["settings"] += 1
            elif path.endswith("ExchangeToken"):
                kinds["session"] += 1
            else:
                kinds["writes"] += 1
    total = sum(kinds.values())
    print(total, kinds["pages"], kinds["record_reads"], kinds["settings"], kinds["writes"],
          kinds["session"])


def by_id(recs):
    return {r["id"]: r for r in recs if isinstance(r, dict) and "id" in r}


def bound(before_path, after_path, opts):
    before, after = json.load(open(before_path)), json.load(open(after_path))
    why = []
    pages = 0
    app_cap = opts.get("--applications")
    if app_cap:
        n = len(before["applications"])
        p = max(1, -(-n // int(app_cap)))
        pages += p
        why.append("%d application pages (%d at %s a page, with a total)" % (p, n, app_cap))
    cand_cap = opts.get("--candidates")
    if cand_cap:
        n = len(before["candidates"])
        p = n // int(cand_cap) + 1
        pages += p
        why.append("%d candidate pages (%d at %s a page, ended by a short page)" % (p, n, cand_cap))
    reads = 0
    if opts.get("--row-reads"):
        names = set(opts["--row-reads"].split(","))
        ids = {s["id"] for s in before["lists"]["opportunityResourceStatuses"]
               if s["name"] in names}
        reads = sum(1 for a in before["applications"] if a.get("statusid") in ids)
        why.append("%d application reads (custom fields of those in %s)"
                   % (reads, ", ".join(sorted(names))))
    changed = created = 0
    for kind in RECORDS:
        old, new = by_id(before.get(kind) or []), by_id(after.get(kind) or [])
        for rid, rec in new.items():
            if rid not in old:
                created += 1
            elif {k: v for k, v in rec.items() if k not in TOUCHED} != \
                    {k: v for k, v in old[rid].items() if k not in TOUCHED}:
                changed += 1
    added = sum(len(after.get(k) or []) - len(before.get(k) or []) for k in ADDED)
    writes = changed + created + added
    why.append("%d writes: %d records changed, %d created, %d notes and documents added"
               % (writes, changed, created, added))
    session = (1 if app_cap else 0) + 1
    why.append("%d session: %s" % (session, "token exchange, settings" if app_cap else "settings"))
    total = pages + reads + writes + session
    print("; ".join(why), file=sys.stderr)
    print(total, pages, reads, writes, session)


def make_csv(state_path, n, out):
    state = json.load(open(state_path))
    emails = {}
    for c in state["candidates"]:
        if c.get("email"):
            emails.setdefault(c["email"].lower(), []).append(c)
    unique = [g[0] for g in emails.values() if len(g) == 1][:n]
    with open(out, "w") as f:
        f.write("Email,First Name,Last Name,Job Title,Priority\n")
        for i, c in enumerate(unique):
            title, priority = c.get("jobtitle") or "", ""
            if i % 3 >= 1:
                title = "Migrated " + title
            if i % 3 == 2:
                priority = "High"
            f.write('%s,%s,%s,"%s",%s\n' % (c["email"], c.get("firstname") or "",
                                             c.get("lastname") or "", title, priority))
        for i in range(n):
            f.write('new.person.%d@import.example,New,Person %d,"Analyst",Low\n' % (i, i))


if __name__ == "__main__":
    if sys.argv[1] == "count":
        count(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "csv":
        make_csv(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "bound":
        args = sys.argv[4:]
        bound(sys.argv[2], sys.argv[3], dict(zip(args[::2], args[1::2])))
    else:
        sys.exit(__doc__)
