#!/usr/bin/env python3
"""Drives duractor's web page in headless Chromium over the DevTools protocol, as a user would.

    drive_page.py BASE_URL TOKEN INSTANCE SCREENSHOT.png

It opens the page with the token in the address's fragment (the page takes it and removes
it), waits until the instance list shows INSTANCE, opens the instance, waits for its
timeline, writes a screenshot, then raises the approval by typing into the page's form and
pressing its button, and waits until the page shows the instance completed. It prints one
JSON report on stdout for the test to check; it exits non-zero, naming the step, when a step
does not happen in time.

Only Python's standard library: Chromium's --remote-debugging-pipe speaks the protocol over
file descriptors 3 and 4, one NUL-terminated JSON message at a time.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


class Browser:
    def __init__(self, profile):
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()

        def wire():  # in the child: fd 3 reads our commands, fd 4 writes the answers
            # Out of the way first (a pipe's end may already be 3 or 4), then into place;
            # dup2 makes them inheritable, as os.pipe()'s own ends are not.
            reads, writes = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(reads, 3)
            os.dup2(writes, 4)

        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if not chromium:
            sys.exit("drive_page: chromium is not installed (scripts/bootstrap installs it)")
        self.process = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-pipe", "--user-data-dir=" + profile,
             "--window-size=1280,1400", "about:blank"],
            preexec_fn=wire, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.out = os.fdopen(to_browser_w, "wb", buffering=0)
        self.inp = os.fdopen(from_browser_r, "rb", buffering=0)
        self.buffer = b""
        self.next_id = 0
        self.session = None

    def send(self, method, params=None, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        self.out.write(json.dumps(message).encode() + b"\0")
        while True:
            answer = self.read()
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(method + ": " + json.dumps(answer["error"]))
                return answer.get("result", {})

    def read(self):
        while b"\0" not in self.buffer:
            chunk = self.inp.read(65536)
            if not chunk:
                raise RuntimeError("the browser closed the pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def open_page(self):
        targets = self.send("Target.getTargets", session=False)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": page["targetId"], "flatten": True},
                                 session=False)["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate",
                           {"expression": expression, "returnByValue": True,
                            "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError("evaluate: " + json.dumps(result["exceptionDetails"]))
        return result["result"].get("value")

    def wait_for(self, step, expression, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        message = self.evaluate("document.getElementById('message').textContent")
        sys.exit("drive_page: timed out waiting for " + step + " (page says: " + str(message) + ")")

    def close(self):
        try:
            self.send("Browser.close", session=False)
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    base, token, instance, screenshot = sys.argv[1:]
    profile = tempfile.mkdtemp(prefix="duractor-chromium-")
    browser = Browser(profile)
    report = {}
    try:
        browser.open_page()
        browser.send("Page.navigate", {"url": base + "/#token=" + token})
        selector = json.dumps('#instances tr[data-id="' + instance + '"]')
        report["listed"] = browser.wait_for(
            "the list to show " + instance, "!!document.querySelector(" + selector + ")")
        report["token_left_in_address"] = browser.evaluate("location.href.includes('token=')")
        report["counts"] = browser.evaluate("document.getElementById('counts').textContent")
        browser.evaluate("location.hash = '#/instance/' + encodeURIComponent(" +
                         json.dumps(instance) + ")")
        browser.wait_for("the timeline", "document.querySelectorAll('#timeline rect').length > 0")
        browser.wait_for("the approval gate",
                         "document.getElementById('header').textContent.includes('awaiting approval')")
        report["bars"] = browser.evaluate(
            "[...document.querySelectorAll('#timeline rect')].map(r => ({label: r.dataset.label,"
            " class: r.getAttribute('class')}))")
        report["waiting"] = browser.evaluate("document.getElementById('waiting').textContent")
        report["history_rows"] = browser.evaluate(
            "document.querySelectorAll('#history tr').length - 1")
        shot = browser.send("Page.captureScreenshot", {"format": "png"})
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        # The approval, typed into the page's form as a user would.
        browser.evaluate("""(() => {
            const set = (id, v) => { const e = document.getElementById(id); e.focus(); e.value = v;
                                      e.dispatchEvent(new Event('input')); };
            set('event-name', 'Approval');
            set('event-payload', '{"approved": true, "by": "the web page"}');
            document.getElementById('raise').click();
            document.activeElement.blur();
            return true; })()""")
        browser.wait_for("the raise to be answered",
                         "document.getElementById('message').textContent.startsWith('raised')")
        report["raised"] = True
        report["final_status"] = browser.wait_for(
            "the instance to complete",
            "(t => t.includes('completed') ? 'completed' : '')"
            "(document.getElementById('header').textContent)", timeout=60)
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
