"""Drives the lifecycle of a few simulated tenants through `cargo lambda invoke` and prints what
happened. Run by scripts/demo.sh (which starts the local stack and `cargo lambda watch`).

The tenants have never seen the vendor's app: each is onboarded as a real one is, with a consent
link from `onboard`, its admin's Accept on the simulator's consent page, and Microsoft's redirect
to the callback on onboard's function URL, which verifies the grant and starts provisioning.

Exits non-zero if any step fails or a tenant is not back to its original state at the end.
"""

import argparse
import datetime
import html
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3

import emf
import events

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TENANTS = [
    {"tenant_id": "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11", "site": "us", "name": "Contoso", "domain": "contoso.com",
     "users": ["alice", "bob"]},
    {"tenant_id": "3b5d2f7a-1c4e-4b8a-9f6d-2e7c1a9b0d42", "site": "eu", "name": "Fabrikam", "domain": "fabrikam.com",
     "users": ["erik", "frida", "gunnar"]},
    {"tenant_id": "c6e1f0a2-7d3b-4e59-8a1c-5b2f9d7e3a60", "site": "eu", "name": "Northwind", "domain": "northwind.example",
     "users": ["nina", "otto"]},
]


def env_file(path=".env.local"):
    values = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value.strip("'")
    return values


ENV = env_file()
SIM = ENV["M365_GRAPH_URL"]


def sim(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{SIM}{path}", data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            text = response.read()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        if err.code == 409:
            return None
        raise


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A browser that shows each redirect instead of following it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


BROWSER = urllib.request.build_opener(NoRedirect)


def browse(url, form=None):
    """GET (or POST `form` to) `url`: status, Location, body."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        with BROWSER.open(urllib.request.Request(url, data=data)) as response:
            return response.status, response.headers.get("Location"), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Location"), err.read().decode()


def admin_consents(consent_url):
    """The tenant's admin opens the link and presses Accept: the callback's page."""
    status, _, page = browse(consent_url)
    if status != 200:
        raise RuntimeError(f"consent page answered {status}: {page}")
    admin = html.unescape(re.search(r'name="login_hint" value="([^"]*)"', page).group(1))
    path, query = consent_url.split("?", 1)
    form = urllib.parse.parse_qsl(query) + [("login_hint", admin), ("accept", "accept")]
    status, location, body = browse(path, form)
    if status != 302 or not location:
        raise RuntimeError(f"consent answered {status}: {body}")
    return browse(location)


class Demo:
    def __init__(self, port):
        self.port = port
        self.timings = []
        self.failures = []
        self.notes = {t["tenant_id"]: {"created": 0, "changed": [], "removed": 0} for t in TENANTS}

    def invoke(self, function, payload):
        started = time.monotonic()
        result = subprocess.run(
            ["cargo", "lambda", "invoke", "-P", str(self.port), function, "--data-ascii", json.dumps(payload)],
            capture_output=True, text=True)
        elapsed = time.monotonic() - started
        self.timings.append((function, elapsed))
        if result.returncode != 0:
            self.failures.append(f"{function}: {result.stderr.strip()}")
            print(f"    !! {function} failed: {result.stderr.strip()}")
            return None
        return json.loads(result.stdout)

    def cli(self, *args):
        """The operator's CLI against the API's local URL (API_URL in .env.local); what it printed."""
        started = time.monotonic()
        result = subprocess.run(["target/debug/m365-inline", "--api-url", ENV["API_URL"], *args],
                                capture_output=True, text=True)
        self.timings.append(("m365-inline", time.monotonic() - started))
        if result.returncode != 0:
            self.failures.append(f"m365-inline {' '.join(args)}: {result.stderr.strip()}")
            print(f"    !! m365-inline {' '.join(args)} failed: {result.stderr.strip()}")
            return None
        print(f"    $ m365-inline {' '.join(args)}")
        for line in result.stdout.splitlines()[:8]:
            print(f"      {line}")
        return result.stdout

    def cli_watching(self, *args):
        """A `--watch` command of the CLI while the continuation queue is delivered to provision,
        as Lambda's SQS event source would; what it printed, or None if it failed."""
        started = time.monotonic()
        process = subprocess.Popen(["target/debug/m365-inline", "--api-url", ENV["API_URL"], *args],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while process.poll() is None:
            records = receive_messages("PROVISION_QUEUE_URL")
            if records:
                answer = self.invoke("provision", {"Records": records})
                if answer and answer.get("batchItemFailures"):
                    self.failures.append(f"provision continuation failures: {answer['batchItemFailures']}")
        out, err = process.communicate()
        self.timings.append(("m365-inline", time.monotonic() - started))
        print(f"    $ m365-inline {' '.join(args)}")
        for line in out.splitlines():
            print(f"      {line}")
        if process.returncode != 0:
            self.failures.append(f"m365-inline {' '.join(args)} exited {process.returncode}: {err.strip()}")
            return None
        return out

    def removed(self, tenant_id, view):
        if view:
            self.notes[tenant_id]["removed"] = sum(
                step.get("outcome", "").count(",") + 1
                for step in view["services"]["tenant"]["steps"] if step.get("outcome", "").startswith("removed"))

    def show_task(self, view):
        if view is None:
            return
        print(f"    task {view['task_id']} {view['kind']}: {view['status']}")
        for service, detail in view["services"].items():
            print(f"      {service}: {detail['status']}")
            for step in detail["steps"]:
                note = step.get("outcome") or step.get("last_error") or ""
                print(f"        - {step['name']:<28} {step['status']:<10} {note}")
        if view["status"] not in ("succeeded",):
            self.failures.append(f"task {view['task_id']} ended {view['status']}")

    def check_logs(self):
        """The functions' log lines (cargo lambda watch's log), line by line."""
        print("==> the functions' logs")
        with open(os.path.join(ROOT, ".local", "watch.log"), encoding="utf-8", errors="replace") as log:
            checked, problems = log_problems(log.read().splitlines(), {t["tenant_id"] for t in TENANTS})
        print(f"    {checked} JSON lines, each with a timestamp and a level; {len(problems)} problem(s)")
        if checked == 0:
            self.failures.append("no function log line was found in .local/watch.log")
        self.failures.extend(problems[:10])
        with open(os.path.join(ROOT, ".local", "watch.log"), encoding="utf-8", errors="replace") as log:
            metrics = emf.summarize(log.read().splitlines())
        seen = metrics["metrics"]
        print(f"    {metrics['documents']} metric documents (EMF), {len(metrics['problems'])} problem(s): "
              + ", ".join(f"{name} {sum(seen[name].values()):g}" for name in sorted(seen)))
        self.failures.extend(metrics["problems"][:10])
        for name in DEMO_METRICS:
            if not seen.get(name):
                self.failures.append(f"no {name} metric was written by the demo's functions")

    def check_events(self):
        """The lifecycle events the bus delivered to the local stack's watch queue."""
        print("==> the lifecycle events on the bus (a rule to an SQS queue)")
        bodies = [record["body"] for record in receive_messages("LIFECYCLE_EVENTS_QUEUE_URL")]
        summary = events.summarize(bodies)
        print(f"    {summary['events']} event(s), {len(summary['problems'])} problem(s) against docs/events.schema.json: "
              + ", ".join(f"{kind} {count}" for kind, count in sorted(summary["changes"].items())))
        self.failures.extend(summary["problems"][:10])
        seen = {}
        for event in sorted((json.loads(b) for b in bodies), key=lambda e: e["detail"]["at"]):
            seen.setdefault(event["detail"]["tenant_id"], []).append(event["detail-type"])
        # Each tenant became active once and was deprovisioned once; nothing failed.
        for t in TENANTS:
            if seen.get(t["tenant_id"]) != ["Tenant Active", "Tenant Deprovisioned"]:
                self.failures.append(f"{t['name']}: events {seen.get(t['tenant_id'])}, expected Tenant Active then "
                                     "Tenant Deprovisioned")

    def run(self):
        print("==> simulated tenants")
        originals = {}
        for t in TENANTS:
            spec = {"tenant_id": t["tenant_id"], "display_name": t["name"], "domains": [t["domain"]],
                    "users": [{"user_principal_name": f"{u}@{t['domain']}"} for u in t["users"]],
                    "ip_allow_list": ["192.0.2.10"], "exchange_admin_role": False, "consented": False}
            sim("POST", "/_sim/tenants", spec)
            originals[t["tenant_id"]] = footprint(sim("GET", f"/_sim/tenants/{t['tenant_id']}"))
            print(f"    {t['name']} ({t['tenant_id']}) on site {t['site']}")
        sim("DELETE", "/_sim/stats")

        print("==> onboard: a consent link per tenant, its admin's Accept, the callback starts provisioning")
        for t in TENANTS:
            print(f"  {t['name']}")
            users = [f"{t['users'][0]}@{t['domain']}"]
            link = self.invoke("onboard", {"tenant": t["domain"], "site": t["site"],
                                           "policy_targets": {"users": users}, "provision": True})
            if not link:
                continue
            if link["tenant_id"] != t["tenant_id"]:
                self.failures.append(f"{t['domain']} resolved to {link['tenant_id']}")
            print(f"    consent link for {link['tenant_id']} (until {link['expires_at']}): "
                  f"{link['consent_url'][:72]}...")
            status, _, page = admin_consents(link["consent_url"])
            task = re.search(r"task <code>([0-9a-f-]+)</code>", page)
            print(f"    callback page: {status}, {'provisioning started' if task else 'no provisioning'}")
            if status != 200 or not task:
                self.failures.append(f"{t['name']}: the callback answered {status}: {page}")
                continue
            # The continuation queue, delivered as Lambda's SQS event source delivers it.
            records = receive_messages("PROVISION_QUEUE_URL")
            answer = self.invoke("provision", {"Records": records})
            if answer and answer.get("batchItemFailures"):
                self.failures.append(f"provision continuation failures: {answer['batchItemFailures']}")
            self.show_task(self.invoke("status", {"task_id": task.group(1)}))
            tenant = self.invoke("status", {"tenant_id": t["tenant_id"]})
            if tenant:
                self.notes[t["tenant_id"]]["created"] = len(tenant["managed_resources"])
                print(f"    status: {tenant['state']}, {len(tenant['managed_resources'])} managed objects")
        checklist = self.invoke("onboard", {"verify": TENANTS[0]["tenant_id"]})
        if checklist:
            print(f"    verify {TENANTS[0]['name']}: ok={checklist['ok']}, "
                  + ", ".join(f"{i['name']}: {i['status']}" for i in checklist["items"][:3]) + ", ...")
            if not checklist["ok"]:
                self.failures.append(f"verify: {checklist}")

        print("==> the directory changes (simulator), then the daily sync of site eu")
        fabrikam = TENANTS[1]
        sim("PATCH", f"/_sim/tenants/{fabrikam['tenant_id']}/directory",
            {"add_users": [{"user_principal_name": f"hilde@{fabrikam['domain']}"}], "add_domains": ["fabrikam.org"]})
        summary = self.invoke("daily-sync", {"site": "eu"})
        print(f"    daily-sync: {summary}")
        records = receive_messages("SYNC_QUEUE_URL")
        print(f"    {len(records)} message(s) delivered to sync-worker")
        answer = self.invoke("sync-worker", {"Records": records}) if records else None
        print(f"    sync-worker: {answer}")
        if answer and answer.get("batchItemFailures"):
            self.failures.append(f"sync-worker failures: {answer['batchItemFailures']}")
        for t in TENANTS[1:]:
            self.notes[t["tenant_id"]]["changed"].append("daily sync")

        print("==> policy-target change (Fabrikam protects all its users)")
        users = [f"{u}@{fabrikam['domain']}" for u in fabrikam["users"]] + [f"hilde@{fabrikam['domain']}"]
        view = self.invoke("policy-targets", {"tenant_id": fabrikam["tenant_id"], "policy_targets": {"users": users}})
        self.show_task(view)
        self.notes[fabrikam["tenant_id"]]["changed"].append(f"policy targets: {len(users)} users")

        print("==> token refresh (forced)")
        report = self.invoke("token-refresh", {"force": True})
        print(f"    {report}")
        if report and (report["failed"] or report["needs_reconsent"]):
            self.failures.append(f"token refresh: {report}")

        print("==> the operator's console: the api function on cargo lambda watch's function URL, through the CLI")
        fleet = self.cli("fleet")
        if fleet is not None and not fleet.startswith(f"tenants {len(TENANTS)}: "):
            self.failures.append(f"the fleet does not count {len(TENANTS)} tenants: {fleet}")
        listed = self.cli("--output", "json", "tenants", "list", "--state", "active")
        if listed is not None and len(json.loads(listed)) != len(TENANTS):
            self.failures.append(f"tenants list: {listed}")
        contoso = TENANTS[0]["tenant_id"]
        self.cli("tenant", "label", contoso, "--name", TENANTS[0]["name"], "--tag", "demo")
        paused = self.cli("pause", contoso)
        if paused is not None and "paused" not in paused:
            self.failures.append(f"pause: {paused}")
        self.cli("resume", contoso)
        self.cli("tenants", "list", "--tag", "demo")
        # The web pages, on the same function URL, under /ui/.
        with urllib.request.urlopen(ENV["API_URL"] + "/ui/") as page:
            csp = page.headers.get("Content-Security-Policy", "")
            text = page.read().decode()
        print(f"    GET /ui/: the dashboard, {len(text)} bytes, Content-Security-Policy {csp[:40]}...")
        if "The fleet" not in text or "default-src 'none'" not in csp or TENANTS[0]["name"] not in text:
            self.failures.append(f"the dashboard: {csp} {text[:300]}")

        print("==> full deprovision: Contoso from the CLI, watched to the end; the others by invoking deprovision")
        contoso = TENANTS[0]
        watched = self.cli_watching("deprovision", contoso["tenant_id"], "--mode", "full", "--watch")
        if watched is not None:
            lines = watched.splitlines()
            if not lines or not lines[-1].endswith(" succeeded"):
                self.failures.append(f"deprovision --watch did not end succeeded: {watched}")
            task = re.match(r"task ([0-9a-f-]+) ", lines[0]) if lines else None
            if task:
                self.removed(contoso["tenant_id"], self.invoke("status", {"task_id": task.group(1)}))
        for t in TENANTS[1:]:
            print(f"  {t['name']}")
            view = self.invoke("deprovision", {"tenant_id": t["tenant_id"], "mode": "full"})
            self.show_task(view)
            self.removed(t["tenant_id"], view)
        fleet = self.cli("fleet")
        if fleet is not None and f"deprovisioned {len(TENANTS)}" not in fleet:
            self.failures.append(f"the fleet does not count {len(TENANTS)} deprovisioned tenants: {fleet}")

        print("==> summary")
        stats = sim("GET", "/_sim/stats")["tenants"]
        print(f"    {'tenant':<10} {'site':<4} {'created':>7} {'removed':>7}  {'graph req/writes':>16} {'exchange req/writes':>19} {'tokens':>6}  back to original")
        for t in TENANTS:
            s = stats.get(t["tenant_id"], {})
            count = lambda surface, key: s.get(surface, {}).get(key, 0)
            now = footprint(sim("GET", f"/_sim/tenants/{t['tenant_id']}"))
            restored = now == originals[t["tenant_id"]]
            if not restored:
                self.failures.append(f"{t['name']} is not back to its original state")
            n = self.notes[t["tenant_id"]]
            print(f"    {t['name']:<10} {t['site']:<4} {n['created']:>7} {n['removed']:>7}  "
                  f"{count('graph','requests'):>9}/{count('graph','writes'):<6} {count('exchange','requests'):>12}/{count('exchange','writes'):<6} "
                  f"{count('token','requests'):>6}  {'yes' if restored else 'NO'}   {'; '.join(n['changed'])}")
        print("    timings:")
        for function in dict.fromkeys(name for name, _ in self.timings):
            spent = [t for name, t in self.timings if name == function]
            print(f"      {function:<15} {len(spent)} call(s), {sum(spent):6.2f} s in all (cargo lambda invoke round trips)")
        self.check_logs()
        self.check_events()
        if self.failures:
            print("==> FAILED")
            for failure in self.failures:
                print(f"    - {failure}")
            return 1
        print("==> the whole lifecycle ran; every tenant is back to its original state")
        return 0


LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"}
# The spans' fields: a line that carries one is inside a tenant's work and must name the tenant
# (a site's run is not one tenant's: its fan-out names the run and the site).
TENANT_WORK = ("task_id", "step")


# What the demo's lifecycle must have measured (README "Operations": Metrics lists them all).
DEMO_METRICS = ["TasksFinished", "StepDuration", "TenantsSynced", "TokensMinted", "Tenants",
                "MicrosoftRequests"]


def log_problems(lines, tenant_ids):
    """What is wrong with the functions' JSON log lines: each needs an RFC 3339 timestamp and a
    level; each inside a tenant's work (a task, a step) or naming a tenant must carry
    `tenant_id`."""
    problems, checked = [], 0
    for line in lines:
        if not line.startswith("{"):
            continue  # cargo lambda's own lines
        try:
            entry = json.loads(line)
        except ValueError:
            problems.append(f"not JSON: {line[:200]}")
            continue
        checked += 1
        try:
            datetime.datetime.fromisoformat(entry.get("timestamp", "").replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"no timestamp: {line[:200]}")
        if entry.get("level") not in LEVELS:
            problems.append(f"no level: {line[:200]}")
        inside = any(key in entry for key in TENANT_WORK) or any(t in line for t in tenant_ids)
        if inside and entry.get("tenant_id") not in tenant_ids:
            problems.append(f"a line of a tenant's work without its tenant_id: {line[:300]}")
    return checked, problems


def footprint(dump):
    exchange = dump["exchange"]
    names = lambda key: sorted(o["Name"] for o in exchange.get(key, []))
    return {"groups": sorted(g["displayName"] for g in dump["groups"]),
            "inbound": names("inbound_connectors"), "outbound": names("outbound_connectors"),
            "rules": names("transport_rules"), "spoof": len(exchange.get("spoof_items", [])),
            "ips": sorted(exchange.get("ip_allow_list", [])), "roles": len(dump.get("role_assignments", []))}


def receive_messages(queue):
    """Every message waiting on `queue` (a URL variable of .env.local), taken off it as SQS records."""
    sqs = boto3.client("sqs", endpoint_url=ENV["AWS_ENDPOINT_URL"], region_name=ENV.get("AWS_REGION", "us-east-1"),
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    records = []
    while True:
        got = sqs.receive_message(QueueUrl=ENV[queue], MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not got:
            return records
        for m in got:
            records.append({"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                            "attributes": {}, "messageAttributes": {}, "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs",
                            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:m365-inline-local",
                            "awsRegion": "us-east-1"})
            sqs.delete_message(QueueUrl=ENV[queue], ReceiptHandle=m["ReceiptHandle"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    sys.exit(Demo(parser.parse_args().port).run())
