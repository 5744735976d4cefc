"""The financial module's database handle: the kit's `Database` with the financial tables."""

from modulekit.database import Database
from services.financial.app.tables import Tables

FinancialDb = Database[Tables]
