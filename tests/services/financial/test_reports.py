"""Reports agree with the journal, whatever sequence of invoices and payments produced it."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.services.financial.conftest import Harness
from tests.services.financial.helpers import company, invoice, pay

REPORTS = "/api/v1/financial/reports"


async def test_reports_for_one_company(shared: Harness) -> None:
    _, company_id, headers = await company(shared, currency="EUR", tax_rate=0.19, invoice_prefix="DE-INV")
    params = {"company_id": str(company_id)}
    inv = await invoice(shared, company_id, headers, total="119.00", issue_date="2026-09-01", due_date="2026-09-15")
    await invoice(shared, company_id, headers, total="238.00", issue_date="2026-11-20", due_date="2026-12-20")
    assert (await pay(shared, inv["id"], "19.00", headers, paid_on="2026-10-01")).status_code == 201

    tb = (await shared.client.get(f"{REPORTS}/trial-balance", params=params, headers=headers)).json()
    assert tb["balanced"] and tb["total_debit"] == tb["total_credit"] == "357.00"
    assert tb["currency"] == "EUR"
    income = (await shared.client.get(f"{REPORTS}/income-statement", params=params, headers=headers)).json()
    assert (income["total_revenue"], income["net_income"]) == ("300.00", "300.00")
    sheet = (await shared.client.get(f"{REPORTS}/balance-sheet", params=params, headers=headers)).json()
    assert sheet["balanced"] and sheet["total_assets"] == "357.00" and sheet["total_liabilities"] == "57.00"
    aging = (await shared.client.get(f"{REPORTS}/receivables-aging", params={**params, "as_of": "2026-11-26"},
                                     headers=headers)).json()
    assert aging["buckets"]["61_90"] == "100.00" and aging["buckets"]["current"] == "238.00"
    assert aging["total"] == "338.00"

    ranged = (await shared.client.get(f"{REPORTS}/income-statement",
                                      params={**params, "date_from": "2026-11-01", "date_to": "2026-11-30"},
                                      headers=headers)).json()
    assert ranged["total_revenue"] == "200.00"
    backwards = await shared.client.get(f"{REPORTS}/trial-balance",
                                        params={**params, "date_from": "2026-12-01", "date_to": "2026-11-01"},
                                        headers=headers)
    assert backwards.status_code == 400 and "after date_to" in backwards.json()["detail"]
    bad_currency = await shared.client.get(f"{REPORTS}/trial-balance", params={**params, "currency": "EURO"},
                                           headers=headers)
    assert bad_currency.status_code == 400 and "three-letter" in bad_currency.json()["detail"]


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
steps = st.lists(
    st.tuples(st.sampled_from(["invoice", "pay", "pay_all"]), amounts, st.integers(min_value=0, max_value=9)),
    min_size=1, max_size=6,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=steps, rate=st.sampled_from(["0", "0.07", "0.19", "0.2"]))
async def test_trial_balance_always_balances(shared: Harness, ops: list[tuple[str, Decimal, int]], rate: str) -> None:
    _, company_id, headers = await company(shared, tax_rate=float(rate))
    invoices: list[dict[str, str]] = []
    expected_receivable = Decimal(0)
    for action, amount, pick in ops:
        if action == "invoice" or not invoices:
            made = await invoice(shared, company_id, headers,
                                 lines=[{"quantity": "1.5", "unit_price": str(amount)}])
            invoices.append(made)
            expected_receivable += Decimal(made["total"])
            continue
        target = invoices[pick % len(invoices)]
        current = (await shared.client.get(f"/api/v1/financial/invoices/{target['id']}", headers=headers)).json()
        due = Decimal(current["amount_due"])
        wanted = due if action == "pay_all" else amount
        response = await pay(shared, target["id"], str(wanted), headers)
        if wanted > due or wanted <= 0:
            assert response.status_code in (400, 409)
        else:
            assert response.status_code == 201, response.text
            expected_receivable -= wanted
    tb = (await shared.client.get(f"{REPORTS}/trial-balance", params={"company_id": str(company_id)},
                                  headers=headers)).json()
    assert tb["balanced"] and tb["total_debit"] == tb["total_credit"]
    receivable = next((a for a in tb["accounts"] if a["code"] == "1200"), {"debit": "0", "credit": "0"})
    assert Decimal(receivable["debit"]) - Decimal(receivable["credit"]) == expected_receivable
    sheet = (await shared.client.get(f"{REPORTS}/balance-sheet", params={"company_id": str(company_id)},
                                     headers=headers)).json()
    assert sheet["balanced"]
    aging = (await shared.client.get(f"{REPORTS}/receivables-aging", params={"company_id": str(company_id)},
                                     headers=headers)).json()
    assert Decimal(aging["total"]) == expected_receivable
