"""Stock held for invoices, issued when they are paid."""
