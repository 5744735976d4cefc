"""The financial module's database handle: the kit's `Database`, queried in SQL only.

Every financial table is read and written with SQL through this handle (the ledger's queries
are joins, sums and locks that read best as SQL), so no table has a second, ORM way in.
"""

from modulekit.database import Database

FinancialDb = Database[None]
