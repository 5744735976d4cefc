"""The administration console (issue 16) in Chromium through the gateway, under the CSP, checked by axe-core.

The seed's walkthrough in the browser alone: remove financial from the demo tenant (keeping its data),
enable it again with EUR / 0.20 after reading the plan, customise the German subsidiary with 0.19 /
DE-INV, see each value's tier, and find the new configuration on the next invoice. Then people: a role,
a user holding it who sees only what it allows, a company that shows at once, and a platform
administrator registering a manifest with problems shown per field.

`make screenshots` runs these tests with BUILDIFY_SCREENSHOTS=docs/screenshots to refresh the images.
"""

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.chromium import create_consulting_invoice, sign_in, sign_out, submit
from tests.browser.chromium import run as browser_run
from tests.e2e.platform import RunningPlatform

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
expect = sync_api.expect
SHOTS = Path(os.environ["BUILDIFY_SCREENSHOTS"]) if os.environ.get("BUILDIFY_SCREENSHOTS") else None
AXE = Axe()


def accessible(page: "sync_api.Page", name: str) -> None:
    """axe-core finds no serious or critical violation on the page as shown; optionally keep a screenshot."""
    results = AXE.run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert not bad, f"{name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in bad)
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays on top of a full-page image
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def run(check: Callable[["sync_api.Page"], None]) -> None:
    """Console errors fail the walk, except Chromium's log of the 4xx answers the walk provokes."""
    browser_run(check, levels=frozenset({"error"}), provoked=lambda m: "status of 4" in m.text)


def test_the_seed_walkthrough_in_the_browser_alone(platform: RunningPlatform) -> None:
    def walk(page: "sync_api.Page") -> None:
        sign_in(page, platform.gateway, platform.admin_email, platform.admin_password)
        menu = page.get_by_role("navigation", name="Main menu")
        menu.get_by_role("link", name="Marketplace").click()
        card = page.get_by_role("listitem", name="Financial Management")
        expect(card).to_contain_text("financial.invoice.created")  # events published, from the manifest
        accessible(page, "marketplace")

        # search filters the catalogue
        page.get_by_label("Search").fill("no such module")
        expect(card).to_have_count(0)
        page.get_by_label("Search").fill("invoices.read")
        expect(card).to_be_visible()

        # purge shows what it deletes and waits for the module's name typed
        card.get_by_role("button", name="Remove Financial Management").click()
        card.get_by_label("Purge it").check()
        expect(card.get_by_text("deleted by the module")).to_be_visible()
        go = card.get_by_role("button", name="Confirm: remove Financial Management")
        expect(go).to_be_disabled()
        card.get_by_label("Type financial to confirm the purge").fill("financial")
        expect(go).to_be_enabled()
        accessible(page, "remove-plan")

        # remove with keep: the plan says what stays, then the menu loses the module
        card.get_by_label("Keep it").check()
        expect(card.get_by_text("every row of this tenant")).to_be_visible()
        card.get_by_role("button", name="Confirm: remove Financial Management").click()
        expect(menu.get_by_text("Financial Management")).to_have_count(0)

        # enable with EUR / 0.20: the browser refuses a bad value first, the plan comes before the change
        card = page.get_by_role("listitem", name="Financial Management")
        card.get_by_role("button", name="Enable Financial Management").click()
        submit(card, {"Financial Management currency": "euro"}, "Show the plan")
        expect(card.get_by_role("alert")).to_contain_text("currency must match")
        submit(card, {"Financial Management currency": "EUR", "Financial Management tax_rate": "0.20"}, "Show the plan")
        plan = card.get_by_role("region", name="Plan")
        expect(plan).to_contain_text("Plan: enable financial")
        expect(plan).to_contain_text("financial.invoices.write")
        expect(plan).to_contain_text('currency = "EUR" (tenant)')
        expect(plan).to_contain_text("core.company.created")
        accessible(page, "enable-plan")
        card.get_by_role("button", name="Confirm: enable Financial Management").click()
        expect(menu.get_by_text("Financial Management")).to_be_visible()

        # customise the German subsidiary: 0.19 / DE-INV as company overrides; tiers shown per key
        menu.get_by_role("link", name="Marketplace").click()
        page.get_by_role("link", name="Customise Financial Management").click()
        expect(page.get_by_label("Scope")).to_have_value(re.compile(r"^[0-9a-f-]{36}$"))
        row = page.locator("tr[data-key=tax_rate]")
        expect(row).to_contain_text("tenant")
        expect(row).to_contain_text("resolved: 0.2")
        page.get_by_label("tax_rate", exact=True).fill("1.5")
        page.get_by_role("button", name="Save overrides").click()
        expect(row.locator(".field-error")).to_have_text("tax_rate must be < 1")
        page.get_by_label("tax_rate", exact=True).fill("0.19")
        page.get_by_label("invoice_prefix", exact=True).fill("DE-INV")
        page.get_by_role("button", name="Save overrides").click()
        expect(page.locator("tr[data-key=tax_rate]")).to_contain_text("company")
        expect(page.locator("tr[data-key=invoice_prefix]")).to_contain_text('resolved: "DE-INV"')
        expect(page.locator("tr[data-key=currency]")).to_contain_text("tenant")
        expect(page.locator("tr[data-key=payment_terms_days]")).to_contain_text("default")
        history = page.get_by_role("region", name="Configuration history")
        expect(history).to_contain_text("tax_rate: null → 0.19")
        expect(history).to_contain_text(platform.admin_email)
        accessible(page, "customise")

        # the invoice form now numbers DE-INV-… and taxes 19 % in EUR
        menu.get_by_role("link", name="Invoices").click()
        page.get_by_role("link", name="New invoice").click()
        create_consulting_invoice(page)
        expect(page.locator(".fin-totals")).to_contain_text("Tax (19%)")
        expect(page.locator("#invoice-currency")).to_have_text("EUR")

    run(walk)


def test_people_roles_and_companies_in_the_browser(platform: RunningPlatform) -> None:
    def walk(page: "sync_api.Page") -> None:
        sign_in(page, platform.gateway, platform.admin_email, platform.admin_password)
        menu = page.get_by_role("navigation", name="Main menu")
        # the home page's muted lines sit on the page background, where the old grey was 4.2:1
        expect(page.locator("main p.muted").first).to_be_visible()
        accessible(page, "home")

        # a tenant role that reads invoices, its permissions picked per module
        menu.get_by_role("link", name="Roles").click()
        page.get_by_role("button", name="New role").click()
        form = page.get_by_role("form", name="New role")
        form.get_by_label("Name").fill("invoice-reader")
        form.get_by_role("group", name="financial").get_by_label("financial.invoices.read").check()
        form.get_by_role("group", name="core").get_by_label("core.companies.read").check()
        accessible(page, "roles")
        form.get_by_role("button", name="Save role").click()
        expect(page.get_by_role("region", name="Roles")).to_contain_text("invoice-reader")

        # a user holding it in Acme GmbH
        menu.get_by_role("link", name="Users").click()
        create = page.get_by_role("form", name="Create a user")
        create.get_by_label("Email").fill("reader@acme.example")
        create.get_by_label("Initial password").fill("reader passphrase")
        create.get_by_label("Company", exact=True).select_option(label="Acme GmbH")
        create.get_by_label("Role in that company").select_option("invoice-reader")
        create.get_by_role("button", name="Create user").click()
        users = page.get_by_role("region", name="Users of the tenant")
        expect(users).to_contain_text("Acme GmbH: invoice-reader")
        accessible(page, "users")
        reader = page.get_by_role("row", name=re.compile("reader@acme.example"))
        reader.get_by_role("button", name="Roles").click()
        page.get_by_role("form", name="Roles of reader@acme.example").get_by_role("button", name="Save roles").click()
        expect(page.locator(".notices")).to_contain_text("Roles of reader@acme.example saved.")
        reader.get_by_role("button", name="Reset password").click()
        reset = page.get_by_role("form", name="New password for reader@acme.example")
        submit(reset, {"New password": "reader passphrase 2"}, "Set password")
        expect(page.locator(".notices")).to_contain_text("Password of reader@acme.example changed.")

        # a company created here is in the picker at once (no new sign-in)
        menu.get_by_role("link", name="Companies").click()
        submit(page, {"New company name": "Acme SARL"}, "Create company")
        expect(page.locator("#company-select option", has_text="Acme SARL")).to_have_count(1)
        accessible(page, "companies")
        page.get_by_role("row", name=re.compile("Acme SARL")).get_by_role("button", name="Rename").click()
        submit(page, {"New name for Acme SARL": "Acme SAS"}, "Save name")
        expect(page.locator("#company-select option", has_text="Acme SAS")).to_have_count(1)
        sign_out(page)

        # the reader sees invoices and nothing the role does not allow
        sign_in(page, platform.gateway, "reader@acme.example", "reader passphrase 2")
        menu = page.get_by_role("navigation", name="Main menu")
        expect(menu.get_by_role("link", name="Invoices")).to_be_visible()
        for hidden in ("Payments", "Reports", "Marketplace", "Users", "Event bus"):
            expect(menu.get_by_role("link", name=hidden)).to_have_count(0)
        sign_out(page)

        # the administrator deactivates the reader, who can no longer sign in
        sign_in(page, platform.gateway, platform.admin_email, platform.admin_password)
        page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Users").click()
        row = page.get_by_role("row", name=re.compile("reader@acme.example"))
        row.get_by_role("button", name="Deactivate").click()
        expect(page.get_by_role("row", name=re.compile("reader@acme.example"))).to_contain_text("deactivated")
        sign_out(page)
        submit(page, {"Email": "reader@acme.example", "Password": "reader passphrase 2"}, "Sign in")
        expect(page.get_by_role("alert")).to_contain_text("This account is disabled")

        # a platform administrator registers a manifest: problems are listed per field
        sign_in(page, platform.gateway, "platform@buildify.local", platform.platform_admin_password)
        page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Register a module").click()
        page.get_by_label("Manifest (JSON)").fill('{"name": "demo_mod", "display_name": "Demo", "version": "1.0.0", '
                                                  '"backend": {"api_prefix": "/api/v1/other"}}')
        page.get_by_role("button", name="Register module").click()
        problems = page.get_by_role("region", name="Problems")
        expect(problems.locator("code", has_text="backend.api_prefix")).to_be_visible()
        accessible(page, "register")

    run(walk)
