"""The browser app as a user meets it: Chromium through the Traefik gateway, under the gateway's CSP."""

from pathlib import Path

import pytest

from tests.browser.chromium import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPORT_CSP,
    create_consulting_invoice,
    platform,
    run,
    sign_in,
)
from tests.e2e.platform import RunningPlatform

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]
__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "REPORT_CSP", "platform"]  # test_warehouse_pages takes them from here

SCREENSHOT = Path("/tmp/buildify-app.png")

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
expect = sync_api.expect


def test_a_user_signs_in_invoices_gets_paid_and_reads_the_trial_balance(platform: RunningPlatform) -> None:
    run(lambda page: walk_through(page, platform), provoked=expected)


PROVOKED = {"expired token": False}


def expected(message: "sync_api.ConsoleMessage") -> bool:
    """Chromium logs every 4xx answer; the wrong password below is the one the test provokes, and so are
    the 401s of the access token the test spoils (the shell answers them by refreshing)."""
    url = str(message.location.get("url", ""))
    return message.text.startswith("Failed to load resource: the server responded with a status of 401") and \
        (url.endswith("/api/v1/auth/login") or (PROVOKED["expired token"] and "/api/v1/" in url))


def walk_through(page: "sync_api.Page", platform: RunningPlatform) -> None:
    response = page.goto(platform.gateway + "/")
    assert response is not None and response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]

    # a wrong password is told in a sentence, then the right one signs in
    page.get_by_label("Email").fill(platform.admin_email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong")
    page.get_by_label("Password").fill(platform.admin_password)
    page.get_by_role("button", name="Sign in").click()

    # the company picker, then the modules' menu
    expect(page.locator("#company-select")).to_be_visible()
    picker = page.locator("#company-select")
    if picker.is_enabled():
        picker.select_option(label="Acme GmbH")
    expect(picker.locator("option:checked")).to_have_text("Acme GmbH")
    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_text("Financial Management")).to_be_visible()
    menu.get_by_role("link", name="Invoices").click()
    expect(page.get_by_role("heading", name="Invoices")).to_be_visible()

    # the form refuses an invoice without a customer, with a sentence
    page.get_by_role("link", name="New invoice").click()
    page.get_by_role("button", name="Create invoice").click()
    expect(page.locator(".invoice-form [role=alert]")).to_contain_text("customer")

    # number, tax and currency come from the German subsidiary's configuration
    create_consulting_invoice(page)
    expect(page.locator("#invoice-currency")).to_have_text("EUR")
    expect(page.locator(".fin-totals")).to_contain_text("Tax (19%)")
    expect(page.locator("#invoice-tax")).to_have_text("190.00 EUR")
    expect(page.locator("#invoice-total")).to_have_text("1,190.00 EUR")
    expect(page.locator("#invoice-status")).to_have_text("open")
    expect(page.locator(".fin-lines, table").first).to_contain_text("10")

    page.get_by_label("Amount (EUR)").fill("1190.00")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("#invoice-status")).to_have_text("paid")
    expect(page.locator("#invoice-due")).to_have_text("0.00 EUR")
    expect(page.locator(".notices")).to_contain_text("Payment of 1,190.00 EUR recorded")
    page.screenshot(path=str(SCREENSHOT.with_name("buildify-invoice.png")), full_page=True)

    # the list shows it paid; the trial balance balances
    menu.get_by_role("link", name="Invoices").click()
    expect(page.locator("tbody tr").first).to_contain_text("paid")
    menu.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Trial balance (EUR)")).to_be_visible()
    expect(page.locator(".fin-balanced")).to_contain_text("Debits equal credits")
    expect(page.locator("tfoot")).to_contain_text("1,190.00 EUR")
    page.get_by_role("link", name="Income statement").click()
    expect(page.locator("#net-income")).to_contain_text("1,000.00 EUR")

    # the payment, and the entries the invoice and the payment posted, each in its own table
    menu.get_by_role("link", name="Payments").click()
    expect(page.get_by_role("heading", name="Payments")).to_be_visible()
    expect(page.locator("tbody tr").first).to_contain_text("1,190.00 EUR")
    menu.get_by_role("link", name="Journal").click()
    expect(page.get_by_role("heading", name="Journal")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(2)

    # the access token runs out (5 minutes): the shell refreshes it on the 401 and the page still loads
    PROVOKED["expired token"] = True
    before = page.evaluate("sessionStorage.getItem('buildify.refresh')")
    page.evaluate("sessionStorage.setItem('buildify.token', 'expired.' + sessionStorage.getItem('buildify.token'))")
    menu.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Chart of accounts")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('buildify.refresh')") != before, "the shell did not refresh"
    assert not page.evaluate("sessionStorage.getItem('buildify.token')").startswith("expired.")
    expect(page.locator(".notices .alert")).to_have_count(0)  # notices leave with the page they belong to
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # signing out cleans the module up and returns to the sign-in form
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.locator("link#financial-module-css").count() == 0


def test_a_page_opened_while_the_company_switches_shows_the_new_companys_data(platform: RunningPlatform) -> None:
    """A menu click during a company switch used to render the page with the previous company's module
    contexts, and the switch then threw the user back home: the page now opens once the switch is done."""

    def walk(page: "sync_api.Page") -> None:
        sign_in(page, platform.gateway, platform.admin_email, platform.admin_password)
        picker = page.locator("#company-select")
        expect(picker.locator("option:checked")).to_have_text("Acme GmbH")
        menu = page.get_by_role("navigation", name="Main menu")
        menu.get_by_role("link", name="Invoices").click()
        page.get_by_role("link", name="New invoice").click()
        create_consulting_invoice(page)  # Acme GmbH has an invoice; the new company below has none
        menu.get_by_role("link", name="Companies").click()
        page.get_by_label("New company name").fill("Acme Switch Ltd")
        page.get_by_role("button", name="Create company").click()
        expect(picker.locator("option", has_text="Acme Switch Ltd")).to_have_count(1)

        # hold the new company's module list, so the switch is still under way when the menu is clicked
        held: list[sync_api.Route] = []
        released = {"now": False}
        page.route("**/api/v1/me/modules*", lambda route: route.continue_() if released["now"] else held.append(route))
        picker.select_option(label="Acme Switch Ltd")
        expect(page.locator(".content")).to_contain_text("Loading the modules of Acme Switch Ltd")
        menu.get_by_role("link", name="Invoices").click()
        released["now"] = True
        for route in held:
            route.continue_()

        expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
        expect(page.locator(".content")).to_contain_text("No invoices yet.")
        expect(page.locator(".content")).not_to_contain_text("DE-INV")

    run(walk)
