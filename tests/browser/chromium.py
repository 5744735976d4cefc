"""What every browser test shares: Debian's Chromium, the platform behind the gateway, a page that
collects what the browser reports, and the steps every walkthrough takes the same way."""

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from tests.broker.tcp_proxy import ProxyThread
from tests.e2e.platform import RunningPlatform, running_platform
from tests.rabbitmq import rabbitmq, services_on_rabbitmq

if TYPE_CHECKING:  # imported where used, so that conftest.py loads without playwright and its tests skip
    from playwright import sync_api

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
# Reported by the page itself, so CSP violations show even where Chromium would not log them.
REPORT_CSP = """document.addEventListener('securitypolicyviolation', (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline code'} in ${e.sourceFile}`);
});"""



@pytest.fixture
def platform(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[RunningPlatform]:
    """The platform behind Traefik, on the Postgres transport; on RabbitMQ (a prefix of its own) with
    `@pytest.mark.parametrize("platform", ["rabbitmq"], indirect=True)`, through `amqp_proxy` if the test
    asks for it too. Skipped without chromium, or without a RabbitMQ for the latter."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install -y chromium` (Debian's build; no `playwright install`)")
    transport = getattr(request, "param", "postgres")
    assert transport in ("postgres", "rabbitmq"), f"no transport {transport!r}"
    with ExitStack() as stack:
        env: dict[str, str] = {}
        if transport == "rabbitmq":
            url, why_not = rabbitmq()
            if not url:
                pytest.skip(why_not)
            via = request.getfixturevalue("amqp_proxy").in_front_of(url) if "amqp_proxy" in request.fixturenames else ""
            env = stack.enter_context(services_on_rabbitmq(database_url, via))  # queues deleted after the platform
        yield stack.enter_context(running_platform(database_url, tmp_path / "platform", env=env))


@pytest.fixture
def amqp_proxy() -> Iterator[ProxyThread]:
    """A proxy to the tests' RabbitMQ that a test can cut: "RabbitMQ is down" for its platform alone."""
    url, why_not = rabbitmq()
    if not url:
        pytest.skip(why_not)
    target = urlsplit(url)
    with ProxyThread(target.hostname or "127.0.0.1", target.port or 5672) as proxy:
        yield proxy


def _never(message: "sync_api.ConsoleMessage") -> bool:
    return False


@contextmanager
def browser_page(
    problems: list[str],
    *,
    width: int = 1280,
    height: int = 860,
    levels: frozenset[str] = frozenset({"error", "warning"}),
    provoked: Callable[["sync_api.ConsoleMessage"], bool] = _never,
) -> Iterator["sync_api.Page"]:
    """A Chromium page under the CSP reporter; console messages of `levels` the test did not provoke,
    and page errors, go to `problems`."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.add_init_script(REPORT_CSP)
            page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text} ({m.location.get('url')})")
                    if m.type in levels and not provoked(m) else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.set_default_timeout(15_000)
            expect.set_options(timeout=15_000)
            yield page
        finally:
            browser.close()


def run(check: Callable[["sync_api.Page"], None], **page_options: Any) -> None:
    """`check` on a fresh `browser_page(**page_options)`; fails with what the page reported, which explains
    most failures."""
    problems: list[str] = []
    with browser_page(problems, **page_options) as page:
        try:
            check(page)
        except AssertionError as exc:
            raise AssertionError("\n".join([str(exc), *problems])) from exc
    assert problems == [], "\n".join(problems)


def submit(where: "sync_api.Page | sync_api.Locator", fields: dict[str, str], button: str) -> None:
    """What a user does with a form: type each value into the field labelled with its key, then press
    `button`. `where` is the page, or the form or dialog when a label is not unique on it."""
    for label, value in fields.items():
        where.get_by_label(label).fill(value)
    where.get_by_role("button", name=button).click()


def sign_in(page: "sync_api.Page", base: str, email: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto(base + "/")
    submit(page, {"Email": email, "Password": password}, "Sign in")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_out(page: "sync_api.Page") -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def create_consulting_invoice(page: "sync_api.Page") -> None:
    """On the invoice form: ten hours of consulting at 100 for Globex AG, numbered by the German subsidiary."""
    from playwright.sync_api import expect

    submit(page, {"Customer": "Globex AG", "Description": "Consulting", "Quantity": "10", "Unit price": "100"},
           "Create invoice")
    expect(page.locator("#invoice-number")).to_have_text(re.compile(r"^DE-INV-\d+"))
